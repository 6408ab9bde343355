package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode/utf8"

	"sealpost.dev/sealpost/internal/store"
)

// textColumns are the text_fts columns of each field; TextAll looks in two.
var textColumns = map[store.TextField][]string{
	store.TextAll:     {"header", "body"},
	store.TextBody:    {"body"},
	store.TextHeader:  {"header"},
	store.TextSubject: {"subject"},
	store.TextFrom:    {"from_addr"},
	store.TextTo:      {"to_addr"},
	store.TextCc:      {"cc_addr"},
	store.TextBcc:     {"bcc_addr"},
}

// TextBacklog returns messages after the cursor whose bodies have no text.
func (s *Store) TextBacklog(ctx context.Context, after int64, limit int) ([]store.Message, error) {
	ms, err := queryMessages(ctx, s.r, "SELECT "+messageCols+` FROM messages m
		WHERE m.id > ? AND NOT EXISTS (SELECT 1 FROM text_content c WHERE c.blob_id = m.blob_id)
		ORDER BY m.id LIMIT ?`, after, limit)
	if err != nil {
		return nil, wrap("text backlog", err)
	}
	return onePerBody(ms), nil
}

// onePerBody keeps the first message of each body.
func onePerBody(ms []store.Message) []store.Message {
	seen := make(map[string]bool, len(ms))
	out := ms[:0]
	for _, m := range ms {
		if !seen[m.BlobID] {
			seen[m.BlobID] = true
			out = append(out, m)
		}
	}
	return out
}

// IndexText stores the text of bodies that still exist and are not yet
// indexed, and moves the cursor, in one transaction.
func (s *Store) IndexText(ctx context.Context, docs []store.TextDoc, cursor int64) error {
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		for _, d := range docs {
			var id int64
			err := tx.QueryRowContext(ctx, `INSERT INTO text_content(blob_id, header, subject, from_addr, to_addr, cc_addr, bcc_addr, body)
				SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM blobs WHERE id = ?)
				ON CONFLICT(blob_id) DO NOTHING RETURNING id`,
				d.BlobID, d.Header, d.Subject, d.From, d.To, d.Cc, d.Bcc, d.Body, d.BlobID).Scan(&id)
			if err == sql.ErrNoRows {
				continue // gone, or indexed already
			}
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO text_fts(rowid, header, subject, from_addr, to_addr, cc_addr, bcc_addr, body)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, d.Header, d.Subject, d.From, d.To, d.Cc, d.Bcc, d.Body); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, "UPDATE meta SET value = max(value, ?) WHERE key = 'text_cursor'", cursor)
		return err
	})
	return wrap("index text", err)
}

// TextCursor returns the indexer's cursor.
func (s *Store) TextCursor(ctx context.Context) (int64, error) {
	var c int64
	err := s.r.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'text_cursor'").Scan(&c)
	return c, wrap("text cursor", err)
}

// Compaction of the FTS5 index. Deleting a body's text adds delete
// markers to the index; the entries they cancel, and the markers, stay
// until a merge takes in the oldest segment, which automerge seldom does
// on a large index, and every search walks them: after 50,000 messages
// delivered and expunged, the index of 1,000 live messages held 60 MB
// (1.2 MB compacted) and a search spent most of its time seeking through
// it. The blobs_text_gone trigger counts deletions in meta
// 'text_deleted'; once they pass compactMinDeleted and a quarter of the
// live texts, CompactText merges the whole index into one segment, which
// drops them, compactPages pages written per write transaction so that a
// delivery waits for at most one step: a step reads more than it writes
// when most of its input is dead, and took at most 290 ms on that index
// (256 pages: 2.1 s in one step; the total is the same).
const (
	compactMinDeleted = 1000
	compactPages      = 8
)

// CompactText does one step of merging the text index once enough
// deletions have piled up, and reports whether another step is due.
func (s *Store) CompactText(ctx context.Context) (bool, error) {
	if !s.compacting.Load() {
		due, err := s.compactionDue(ctx)
		if err != nil || !due {
			return false, wrap("compact text", err)
		}
	}
	more := false
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		var before, after int64
		if err := tx.QueryRowContext(ctx, "SELECT total_changes()").Scan(&before); err != nil {
			return err
		}
		// A negative page count merges every segment, not only those of
		// a crowded level: an optimize done in steps.
		if _, err := tx.ExecContext(ctx, "INSERT INTO text_fts(text_fts, rank) VALUES ('merge', ?)", -compactPages); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, "SELECT total_changes()").Scan(&after); err != nil {
			return err
		}
		// FTS5 changes fewer than two rows when the index is one segment
		// already: every deletion so far has been merged away.
		if more = after-before >= 2; !more {
			_, err := tx.ExecContext(ctx, "UPDATE meta SET value = 0 WHERE key = 'text_deleted'")
			return err
		}
		return nil
	})
	s.compacting.Store(more && err == nil)
	return more, wrap("compact text", err)
}

// compactionDue reports whether the deletions counted since the last
// compaction call for one.
func (s *Store) compactionDue(ctx context.Context) (bool, error) {
	var deleted, live int64
	err := s.r.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'text_deleted'").Scan(&deleted)
	if err != nil || deleted < compactMinDeleted {
		return false, err
	}
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM text_content").Scan(&live); err != nil {
		return false, err
	}
	return deleted*4 >= live, nil
}

// SearchText finds needle in the indexed text of a mailbox's messages.
// A needle of three characters or more goes through the trigram index;
// a shorter one is looked for in the stored text of the mailbox's
// messages, one by one.
func (s *Store) SearchText(ctx context.Context, mailboxID int64, field store.TextField, needle string) (store.TextHits, error) {
	cols, ok := textColumns[field]
	if !ok {
		return store.TextHits{}, fmt.Errorf("search text: field %d: %w", field, store.ErrInvalid)
	}
	var hits store.TextHits
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return hits, wrap("search text", err)
	}
	defer tx.Rollback()
	query, args := textQuery(mailboxID, cols, needle)
	if hits.UIDs, err = queryUIDs(ctx, tx, query, args...); err != nil {
		return hits, wrap("search text", err)
	}
	// Only messages after the cursor can lack text (see the migration):
	// a scan of the IDs after it, not of the whole mailbox.
	hits.Unindexed, err = queryMessages(ctx, tx, "SELECT "+messageCols+` FROM messages m
		WHERE m.id > (SELECT value FROM meta WHERE key = 'text_cursor') AND +m.mailbox_id = ?
			AND NOT EXISTS (SELECT 1 FROM text_content c WHERE c.blob_id = m.blob_id)
		ORDER BY m.uid`, mailboxID)
	return hits, wrap("search text", err)
}

// textQuery builds the query for the UIDs of a mailbox's messages whose
// text holds needle in one of cols.
func textQuery(mailboxID int64, cols []string, needle string) (string, []any) {
	args := []any{mailboxID}
	var conds []string
	if utf8.RuneCountInString(needle) < 3 {
		// Too short for a trigram: read the text of each message.
		for _, c := range cols {
			conds = append(conds, "instr(c."+c+", ?) > 0")
			args = append(args, needle)
		}
		return `SELECT m.uid FROM messages m JOIN text_content c ON c.blob_id = m.blob_id
			WHERE m.mailbox_id = ? AND (` + strings.Join(conds, " OR ") + `) ORDER BY m.uid`, args
	}
	pattern := "*" + globEscape(needle) + "*"
	for _, c := range cols {
		conds = append(conds, "SELECT rowid FROM text_fts WHERE "+c+" GLOB ?")
		args = append(args, pattern)
	}
	// From the bodies the index finds to their messages in this mailbox:
	// the unary + keeps the planner from walking the whole mailbox instead.
	return `SELECT m.uid FROM messages m JOIN text_content c ON c.blob_id = m.blob_id
		WHERE +m.mailbox_id = ? AND c.id IN (` + strings.Join(conds, " UNION ") + `) ORDER BY m.uid`, args
}

// globEscape makes s match itself in a GLOB pattern: the wildcards go
// into brackets.
func globEscape(s string) string {
	if !strings.ContainsAny(s, "*?[") {
		return s
	}
	return strings.NewReplacer("*", "[*]", "?", "[?]", "[", "[[]").Replace(s)
}

func queryUIDs(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]uint32, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var uids []uint32
	for rows.Next() {
		var u uint32
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		uids = append(uids, u)
	}
	return uids, rows.Err()
}
