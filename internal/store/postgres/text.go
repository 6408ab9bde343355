package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"sealpost.dev/sealpost/internal/store"
)

// textColumns are the text_docs columns of each field. Each field's text
// is also in header or body, which carry the trigram indexes, so the
// query asks for the needle there too and the planner can use them.
var textColumns = map[store.TextField]string{
	store.TextAll:     "(d.header LIKE $2 OR d.body LIKE $2)",
	store.TextBody:    "d.body LIKE $2",
	store.TextHeader:  "d.header LIKE $2",
	store.TextSubject: "d.header LIKE $2 AND d.subject LIKE $2",
	store.TextFrom:    "d.header LIKE $2 AND d.from_addr LIKE $2",
	store.TextTo:      "d.header LIKE $2 AND d.to_addr LIKE $2",
	store.TextCc:      "d.header LIKE $2 AND d.cc_addr LIKE $2",
	store.TextBcc:     "d.header LIKE $2 AND d.bcc_addr LIKE $2",
}

// TextBacklog returns messages after the cursor whose bodies have no text.
func (s *Store) TextBacklog(ctx context.Context, after int64, limit int) ([]store.Message, error) {
	ms, err := collectMessages(s.pool.Query(ctx, "SELECT "+prefixed("m.", messageCols)+` FROM messages m
		WHERE m.id > $1 AND NOT EXISTS (SELECT 1 FROM text_docs d WHERE d.blob_id = m.blob_id)
		ORDER BY m.id LIMIT $2`, after, limit))
	if err != nil {
		return nil, mapErr(err, "text backlog", nil)
	}
	seen := map[string]bool{}
	out := ms[:0]
	for _, m := range ms {
		if !seen[m.BlobID] {
			seen[m.BlobID] = true
			out = append(out, m)
		}
	}
	return out, nil
}

// IndexText stores the text of bodies that still exist and are not yet
// indexed, and moves the cursor, in one transaction. A body removed by a
// transaction running alongside fails its insert alone, in a savepoint.
func (s *Store) IndexText(ctx context.Context, docs []store.TextDoc, cursor int64) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		for _, d := range docs {
			id, err := parseBlobID(d.BlobID)
			if err != nil {
				continue
			}
			err = pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
				_, err := sp.Exec(ctx, `INSERT INTO text_docs (blob_id, header, subject, from_addr, to_addr, cc_addr, bcc_addr, body)
					SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM blobs WHERE id = $1)
					ON CONFLICT (blob_id) DO NOTHING`, id, d.Header, d.Subject, d.From, d.To, d.Cc, d.Bcc, d.Body)
				return err
			})
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23503" { // foreign_key_violation: the body went
				continue
			}
			if err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, "UPDATE text_cursor SET last_id = greatest(last_id, $1)", cursor)
		return err
	})
	return mapErr(err, "index text", nil)
}

// CompactText has nothing to do: the rows of deleted text leave the
// GIN index when autovacuum reclaims them.
func (s *Store) CompactText(ctx context.Context) (bool, error) {
	return false, nil
}

// TextCursor returns the indexer's cursor.
func (s *Store) TextCursor(ctx context.Context) (int64, error) {
	var c int64
	err := s.pool.QueryRow(ctx, "SELECT last_id FROM text_cursor").Scan(&c)
	return c, mapErr(err, "text cursor", nil)
}

// SearchText finds needle in the indexed text of a mailbox's messages
// with LIKE, which the trigram indexes serve when pg_trgm is installed.
func (s *Store) SearchText(ctx context.Context, mailboxID int64, field store.TextField, needle string) (store.TextHits, error) {
	cond, ok := textColumns[field]
	if !ok {
		return store.TextHits{}, fmt.Errorf("search text: field %d: %w", field, store.ErrInvalid)
	}
	var hits store.TextHits
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT m.uid FROM messages m JOIN text_docs d ON d.blob_id = m.blob_id
			WHERE m.mailbox_id = $1 AND `+cond+` ORDER BY m.uid`, mailboxID, "%"+likeEscape(needle)+"%")
		if err != nil {
			return err
		}
		uids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		hits.UIDs = make([]uint32, len(uids))
		for i, u := range uids {
			hits.UIDs[i] = uint32(u)
		}
		hits.Unindexed, err = collectMessages(tx.Query(ctx, "SELECT "+messageCols+` FROM messages m
			WHERE m.mailbox_id = $1 AND NOT EXISTS (SELECT 1 FROM text_docs d WHERE d.blob_id = m.blob_id) ORDER BY m.uid`, mailboxID))
		return err
	})
	return hits, mapErr(err, "search text", nil)
}

// likeEscape makes s match itself in a LIKE pattern (backslash is LIKE's
// default escape character).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}
