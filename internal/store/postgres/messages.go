package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"sealpost.dev/sealpost/internal/mimeinfo"
	"sealpost.dev/sealpost/internal/store"
)

const messageCols = "id, mailbox_id, uid, modseq, flags, internal_date, save_date, size, blob_id"

func scanMessage(r pgx.Row) (store.Message, error) {
	var m store.Message
	var uid, modseq, blob int64
	err := r.Scan(&m.ID, &m.MailboxID, &uid, &modseq, &m.Flags, &m.InternalDate, &m.SaveDate, &m.Size, &blob)
	m.UID, m.ModSeq, m.BlobID = uint32(uid), uint64(modseq), blobID(blob)
	m.InternalDate, m.SaveDate = m.InternalDate.UTC(), m.SaveDate.UTC()
	m.Flags = store.NormFlags(m.Flags)
	return m, err
}

func collectMessages(rows pgx.Rows, err error) ([]store.Message, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Message, error) { return scanMessage(r) })
}

func blobID(id int64) string { return strconv.FormatInt(id, 10) }

func parseBlobID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("blob %q: %w", s, store.ErrNotFound)
	}
	return id, nil
}

// flagsArg is the SQL value for a flag set: never NULL.
func flagsArg(flags []string) []string {
	if flags == nil {
		return []string{}
	}
	return flags
}

// allocation is what allocate hands out: consecutive UIDs and MODSEQs
// starting at uid and modseq.
type allocation struct {
	accountID int64
	uid       uint32
	modseq    uint64
}

// allocate takes uids UIDs and modseqs MODSEQs from a mailbox row and adds
// msgs messages of size bytes (negative for expunges) to its counters. The
// row lock this takes is held to the end of the transaction, so writers to
// one mailbox serialise, on every node.
func allocate(ctx context.Context, tx pgx.Tx, mailboxID int64, uids, modseqs, msgs int, size int64) (allocation, error) {
	var a allocation
	var uid, modseq int64
	err := tx.QueryRow(ctx, `UPDATE mailboxes SET
			uid_next = uid_next + $2,
			highest_modseq = highest_modseq + $3,
			messages = messages + $4,
			size = size + $5
		WHERE id = $1
		RETURNING account_id, uid_next - $2, highest_modseq - $3 + 1`,
		mailboxID, uids, modseqs, msgs, size).Scan(&a.accountID, &uid, &modseq)
	if err != nil {
		return allocation{}, mapErr(err, fmt.Sprintf("mailbox %d", mailboxID), nil)
	}
	a.uid, a.modseq = uint32(uid), uint64(modseq)
	return a, nil
}

// lockMailboxes locks mailbox rows in ID order, so that transactions
// touching several mailboxes cannot deadlock on them, and fails with
// ErrNotFound if one is missing.
func lockMailboxes(ctx context.Context, tx pgx.Tx, ids ...int64) error {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT id FROM mailboxes WHERE id = ANY($1) ORDER BY id FOR UPDATE) m`, ids).Scan(&n)
	if err != nil {
		return mapErr(err, "lock mailboxes", nil)
	}
	if n != len(ids) {
		return fmt.Errorf("mailbox: %w", store.ErrNotFound)
	}
	return nil
}

// charge adds bytes to an account's usage and, when check is set and bytes
// is positive, fails with ErrQuota if that takes it over its quota.
func charge(ctx context.Context, tx pgx.Tx, accountID, bytes int64, check bool) error {
	var used, quota int64
	err := tx.QueryRow(ctx, "UPDATE accounts SET used_bytes = used_bytes + $2 WHERE id = $1 RETURNING used_bytes, quota_bytes",
		accountID, bytes).Scan(&used, &quota)
	if err != nil {
		return mapErr(err, fmt.Sprintf("account %d", accountID), nil)
	}
	if check && bytes > 0 && quota > 0 && used > quota {
		return fmt.Errorf("account %d: %d of %d bytes used: %w", accountID, used-bytes, quota, store.ErrQuota)
	}
	return nil
}

// newRow is a message row about to be inserted.
type newRow struct {
	mailboxID    int64
	uid          uint32
	modseq       uint64
	flags        []string
	internalDate time.Time
	saveDate     time.Time
	size         int64
	blobID       int64
}

// insertMessages inserts rows and returns them as messages, in order.
func insertMessages(ctx context.Context, tx pgx.Tx, rows []newRow) ([]store.Message, error) {
	b := &pgx.Batch{}
	for _, r := range rows {
		b.Queue(`INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, save_date, size, blob_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			r.mailboxID, int64(r.uid), int64(r.modseq), flagsArg(r.flags), r.internalDate, r.saveDate, r.size, r.blobID)
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	ms := make([]store.Message, len(rows))
	for i, r := range rows {
		m := store.Message{MailboxID: r.mailboxID, UID: r.uid, ModSeq: r.modseq, Flags: r.flags,
			InternalDate: r.internalDate, SaveDate: r.saveDate, Size: r.size, BlobID: blobID(r.blobID)}
		if err := br.QueryRow().Scan(&m.ID); err != nil {
			return nil, mapErr(err, "insert message", store.ErrNotFound)
		}
		ms[i] = m
	}
	return ms, br.Close()
}

// deliverOne allocates a UID and a MODSEQ in one mailbox and inserts the
// message with them, in one statement. The body is $6, or when that is NULL
// the blob this session inserted last.
const deliverOne = `WITH mb AS (
		UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1,
			messages = messages + 1, size = size + $2
		WHERE id = $1
		RETURNING id, uid_next - 1 AS uid, highest_modseq AS modseq)
	INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, save_date, size, blob_id)
	SELECT mb.id, mb.uid, mb.modseq, $3, $4, $5, $2, coalesce($6::bigint, currval(pg_get_serial_sequence('blobs', 'id')))
	FROM mb
	RETURNING id, uid, modseq, blob_id`

// deliverCharge adds a delivery's bytes to the usage of every account it
// reaches and returns usage and quota to check.
const deliverCharge = `UPDATE accounts a SET used_bytes = a.used_bytes + c.n * $2
	FROM (SELECT m.account_id, count(*) AS n
		FROM unnest($1::bigint[]) AS t(id) JOIN mailboxes m ON m.id = t.id
		GROUP BY m.account_id) c
	WHERE a.id = c.account_id
	RETURNING a.id, a.used_bytes, a.quota_bytes`

// Deliver stores body once and adds it to every target mailbox, all in one
// transaction with the body itself. The statements go to the server as one
// pipelined batch: the mailbox rows hand out UIDs and MODSEQs as the
// messages are inserted, so nothing has to come back before the commit but
// the quota figures.
func (s *Store) Deliver(ctx context.Context, body io.Reader, targets []store.Target) ([]store.Message, error) {
	if len(targets) == 0 {
		return nil, errors.New("postgres: deliver: no targets")
	}
	// The summary is made as the body streams past, whatever its size.
	sum := mimeinfo.NewSummarizer()
	sp, err := s.spool(ctx, io.TeeReader(body, sum))
	if err != nil {
		return nil, fmt.Errorf("postgres: deliver: %w", err)
	}
	sp.summary = sum.Summary().Encode()
	size := sp.size
	ids := make([]int64, len(targets))
	for i, t := range targets {
		ids[i] = t.MailboxID
	}
	var out []store.Message
	err = s.tx(ctx, func(tx pgx.Tx) error {
		saved := now()
		out = make([]store.Message, len(targets))
		b := &pgx.Batch{}
		sp.adopt(b)
		multi := len(slices.Compact(slices.Sorted(slices.Values(ids)))) > 1
		if multi {
			// Lock in ID order so that deliveries to overlapping sets of
			// mailboxes cannot deadlock.
			b.Queue("SELECT id FROM mailboxes WHERE id = ANY($1) ORDER BY id FOR UPDATE", ids)
		}
		for i, t := range targets {
			m := &out[i]
			m.MailboxID, m.Flags, m.SaveDate, m.Size = t.MailboxID, store.NormFlags(t.Flags), saved, size
			m.InternalDate = saved
			if !t.InternalDate.IsZero() {
				m.InternalDate = dbTime(t.InternalDate)
			}
			b.Queue(deliverOne, t.MailboxID, size, flagsArg(m.Flags), m.InternalDate, saved, sp.blobIDArg())
		}
		b.Queue(deliverCharge, ids, size)
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		if err := sp.checkAdopted(br); err != nil {
			return mapErr(err, "deliver", nil)
		}
		if multi {
			if _, err := br.Exec(); err != nil {
				return mapErr(err, "deliver", nil)
			}
		}
		for i := range out {
			var uid, modseq, blob int64
			if err := br.QueryRow().Scan(&out[i].ID, &uid, &modseq, &blob); err != nil {
				return mapErr(err, fmt.Sprintf("deliver to mailbox %d", out[i].MailboxID), nil)
			}
			out[i].UID, out[i].ModSeq, out[i].BlobID = uint32(uid), uint64(modseq), blobID(blob)
		}
		rows, _ := br.Query()
		var acc, used, quota int64
		_, err := pgx.ForEachRow(rows, []any{&acc, &used, &quota}, func() error {
			if quota > 0 && used > quota {
				return fmt.Errorf("deliver: account %d would use %d of %d bytes: %w", acc, used, quota, store.ErrQuota)
			}
			return nil
		})
		if err != nil && !errors.Is(err, store.ErrQuota) {
			err = mapErr(err, "deliver", nil)
		}
		return err
	})
	if err != nil {
		s.discard(sp)
		return nil, err
	}
	return out, nil
}

// ListSummarized returns messages with UID >= fromUID in UID order, with
// their bodies' summaries.
func (s *Store) ListSummarized(ctx context.Context, mailboxID int64, fromUID uint32, limit int) ([]store.Summarized, error) {
	q := `SELECT m.id, m.mailbox_id, m.uid, m.modseq, m.flags, m.internal_date, m.save_date, m.size, m.blob_id, b.summary
		FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.mailbox_id = $1 AND m.uid >= $2 ORDER BY m.uid`
	args := []any{mailboxID, int64(fromUID)}
	if limit > 0 {
		q += " LIMIT $3"
		args = append(args, limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, mapErr(err, "list summarized", nil)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Summarized, error) {
		var sm store.Summarized
		var uid, modseq, blob int64
		m := &sm.Message
		err := r.Scan(&m.ID, &m.MailboxID, &uid, &modseq, &m.Flags, &m.InternalDate, &m.SaveDate, &m.Size, &blob, &sm.Summary)
		m.UID, m.ModSeq, m.BlobID = uint32(uid), uint64(modseq), blobID(blob)
		m.InternalDate, m.SaveDate = m.InternalDate.UTC(), m.SaveDate.UTC()
		m.Flags = store.NormFlags(m.Flags)
		return sm, err
	})
	return out, mapErr(err, "list summarized", nil)
}

// Summaries returns the stored summaries of the given bodies.
func (s *Store) Summaries(ctx context.Context, blobIDs []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(blobIDs))
	ids := make([]int64, 0, len(blobIDs))
	for _, id := range blobIDs {
		if n, err := parseBlobID(id); err == nil {
			ids = append(ids, n)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, "SELECT id, summary FROM blobs WHERE id = ANY($1) AND summary IS NOT NULL", ids)
	if err != nil {
		return nil, mapErr(err, "summaries", nil)
	}
	var id int64
	var sum []byte
	_, err = pgx.ForEachRow(rows, []any{&id, &sum}, func() error {
		out[blobID(id)] = sum
		sum = nil
		return nil
	})
	return out, mapErr(err, "summaries", nil)
}

// PutSummaries stores summaries of bodies, skipping unknown ones.
func (s *Store) PutSummaries(ctx context.Context, summaries map[string][]byte) error {
	b := &pgx.Batch{}
	for id, sum := range summaries {
		if n, err := parseBlobID(id); err == nil {
			b.Queue("UPDATE blobs SET summary = $2 WHERE id = $1", n, sum)
		}
	}
	if b.Len() == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	return mapErr(err, "put summaries", nil)
}

// GetMessage returns one message by mailbox and UID.
func (s *Store) GetMessage(ctx context.Context, mailboxID int64, uid uint32) (store.Message, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, "SELECT "+messageCols+" FROM messages WHERE mailbox_id = $1 AND uid = $2",
		mailboxID, int64(uid)))
	if err != nil {
		return store.Message{}, mapErr(err, fmt.Sprintf("message %d in mailbox %d", uid, mailboxID), nil)
	}
	return m, nil
}

// ListMessages returns messages with UID >= fromUID in UID order, at most
// limit of them (0: all).
func (s *Store) ListMessages(ctx context.Context, mailboxID int64, fromUID uint32, limit int) ([]store.Message, error) {
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := s.pool.Query(ctx, "SELECT "+messageCols+` FROM messages
		WHERE mailbox_id = $1 AND uid >= $2 ORDER BY uid LIMIT $3`, mailboxID, int64(fromUID), lim)
	ms, err := collectMessages(rows, err)
	if err != nil {
		return nil, mapErr(err, "list messages", nil)
	}
	return ms, nil
}

// UIDRanges groups the UIDs into runs in the database: within a run, UID
// minus row number is constant.
func (s *Store) UIDRanges(ctx context.Context, mailboxID int64) ([]store.UIDRange, error) {
	rows, err := s.pool.Query(ctx, `SELECT min(uid), max(uid) FROM
		(SELECT uid, uid - row_number() OVER (ORDER BY uid) AS run FROM messages WHERE mailbox_id = $1) AS r
		GROUP BY run ORDER BY 1`, mailboxID)
	if err != nil {
		return nil, mapErr(err, "uid ranges", nil)
	}
	defer rows.Close()
	var out []store.UIDRange
	for rows.Next() {
		var first, last int64
		if err := rows.Scan(&first, &last); err != nil {
			return nil, mapErr(err, "uid ranges", nil)
		}
		out = append(out, store.UIDRange{First: uint32(first), Last: uint32(last)})
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, "uid ranges", nil)
	}
	return out, nil
}

// CountFlags scans the flags of the mailbox's messages once.
func (s *Store) CountFlags(ctx context.Context, mailboxID int64) (store.FlagCounts, error) {
	var unseen, deleted int64
	var first *int64
	err := s.pool.QueryRow(ctx, countFlagsQuery, mailboxID).Scan(&unseen, &first, &deleted)
	if err != nil {
		return store.FlagCounts{}, mapErr(err, "count flags", nil)
	}
	c := store.FlagCounts{Unseen: int(unseen), Deleted: int(deleted)}
	if first != nil {
		c.FirstUnseen = uint32(*first)
	}
	return c, nil
}

// countFlagsQuery takes each figure from its own partial index (migration
// 0010), so that its cost follows the unseen and deleted messages, not the
// mailbox.
const countFlagsQuery = `SELECT
	(SELECT count(*) FROM messages WHERE mailbox_id = $1 AND NOT ('\Seen' = ANY (flags))),
	(SELECT min(uid) FROM messages WHERE mailbox_id = $1 AND NOT ('\Seen' = ANY (flags))),
	(SELECT count(*) FROM messages WHERE mailbox_id = $1 AND '\Deleted' = ANY (flags))`

// ChangedSince returns the messages with MODSEQ greater than modseq, in UID
// order.
func (s *Store) ChangedSince(ctx context.Context, mailboxID int64, modseq uint64) ([]store.Message, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+messageCols+` FROM messages
		WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid`, mailboxID, int64(modseq))
	ms, err := collectMessages(rows, err)
	if err != nil {
		return nil, mapErr(err, "changed since", nil)
	}
	return ms, nil
}

// UpdateFlags changes flags; each changed message takes a new MODSEQ.
func (s *Store) UpdateFlags(ctx context.Context, u store.FlagUpdate) (store.FlagResult, error) {
	if !u.Op.Valid() {
		return store.FlagResult{}, fmt.Errorf("update flags: operation %d: %w", u.Op, store.ErrInvalid)
	}
	var res store.FlagResult
	err := s.tx(ctx, func(tx pgx.Tx) error {
		res = store.FlagResult{}
		if err := lockMailboxes(ctx, tx, u.MailboxID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT "+messageCols+" FROM messages WHERE mailbox_id = $1 AND uid = ANY($2) ORDER BY uid",
			u.MailboxID, uidArgs(u.UIDs))
		cur, err := collectMessages(rows, err)
		if err != nil {
			return mapErr(err, "update flags", nil)
		}
		var changed []store.Message
		for _, m := range cur {
			if u.UnchangedSince != 0 && m.ModSeq > u.UnchangedSince {
				res.Modified = append(res.Modified, m.UID)
				continue
			}
			f, err := store.ApplyFlags(m.Flags, u.Op, u.Flags)
			if err != nil {
				return err
			}
			if !slices.Equal(f, m.Flags) {
				m.Flags = f
				changed = append(changed, m)
			}
		}
		if len(changed) == 0 {
			return nil
		}
		a, err := allocate(ctx, tx, u.MailboxID, 0, len(changed), 0, 0)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		for i := range changed {
			changed[i].ModSeq = a.modseq + uint64(i)
			b.Queue("UPDATE messages SET flags = $2, modseq = $3 WHERE id = $1",
				changed[i].ID, flagsArg(changed[i].Flags), int64(changed[i].ModSeq))
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return mapErr(err, "update flags", nil)
		}
		res.Updated = changed
		return nil
	})
	return res, err
}

func uidArgs(uids []uint32) []int64 {
	out := make([]int64, len(uids))
	for i, u := range uids {
		out[i] = int64(u)
	}
	return out
}

// Copy copies messages to another mailbox, sharing their bodies.
func (s *Store) Copy(ctx context.Context, fromMailbox int64, uids []uint32, toMailbox int64) ([]store.Message, error) {
	var out []store.Message
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		out, _, err = copyMessages(ctx, tx, fromMailbox, uids, toMailbox, false)
		return err
	})
	return out, err
}

// Move moves messages to another mailbox: a copy and an expunge in one
// transaction (RFC 6851). Within an account it never fails on quota; to
// another account's mailbox it is charged and checked like a copy.
func (s *Store) Move(ctx context.Context, fromMailbox int64, uids []uint32, toMailbox int64) ([]store.Message, error) {
	var out []store.Message
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var moved []uint32
		var err error
		out, moved, err = copyMessages(ctx, tx, fromMailbox, uids, toMailbox, true)
		if err != nil {
			return err
		}
		_, err = expunge(ctx, tx, fromMailbox, moved)
		return err
	})
	return out, err
}

// copyMessages copies the messages of fromMailbox with the given UIDs, in
// the order of uids, skipping UIDs that do not exist. It returns the new
// messages and the source UIDs copied. The target account is charged and
// fails the copy if that takes it over its quota, except for a move within
// one account, whose usage the expunge that follows restores.
func copyMessages(ctx context.Context, tx pgx.Tx, from int64, uids []uint32, to int64, move bool) ([]store.Message, []uint32, error) {
	if err := lockMailboxes(ctx, tx, from, to); err != nil {
		return nil, nil, err
	}
	checkQuota := true
	if move {
		var same bool
		err := tx.QueryRow(ctx, `SELECT (SELECT account_id FROM mailboxes WHERE id = $1) =
			(SELECT account_id FROM mailboxes WHERE id = $2)`, from, to).Scan(&same)
		if err != nil {
			return nil, nil, mapErr(err, "move", nil)
		}
		checkQuota = !same
	}
	rows, err := tx.Query(ctx, "SELECT "+messageCols+" FROM messages WHERE mailbox_id = $1 AND uid = ANY($2)", from, uidArgs(uids))
	src, err := collectMessages(rows, err)
	if err != nil {
		return nil, nil, mapErr(err, "copy", nil)
	}
	byUID := make(map[uint32]store.Message, len(src))
	for _, m := range src {
		byUID[m.UID] = m
	}
	var picked []store.Message
	var copied []uint32
	var size int64
	for _, uid := range uids {
		if m, ok := byUID[uid]; ok {
			picked = append(picked, m)
			copied = append(copied, uid)
			size += m.Size
			delete(byUID, uid) // a UID listed twice is copied once
		}
	}
	if len(picked) == 0 {
		return nil, nil, nil
	}
	a, err := allocate(ctx, tx, to, len(picked), len(picked), len(picked), size)
	if err != nil {
		return nil, nil, err
	}
	if err := charge(ctx, tx, a.accountID, size, checkQuota); err != nil {
		return nil, nil, err
	}
	saved := now()
	nr := make([]newRow, len(picked))
	for i, m := range picked {
		blob, _ := parseBlobID(m.BlobID)
		nr[i] = newRow{mailboxID: to, uid: a.uid + uint32(i), modseq: a.modseq + uint64(i), flags: m.Flags,
			internalDate: m.InternalDate, saveDate: saved, size: m.Size, blobID: blob}
	}
	out, err := insertMessages(ctx, tx, nr)
	return out, copied, err
}

// Expunge removes messages and leaves tombstones, which it returns in UID
// order.
func (s *Store) Expunge(ctx context.Context, mailboxID int64, uids []uint32) ([]store.Expunged, error) {
	var out []store.Expunged
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = expunge(ctx, tx, mailboxID, uids)
		return err
	})
	return out, err
}

func expunge(ctx context.Context, tx pgx.Tx, mailboxID int64, uids []uint32) ([]store.Expunged, error) {
	if err := lockMailboxes(ctx, tx, mailboxID); err != nil {
		return nil, err
	}
	if len(uids) == 0 {
		return nil, nil
	}
	type gone struct{ uid, size int64 }
	rows, err := tx.Query(ctx, "DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2) RETURNING uid, size",
		mailboxID, uidArgs(uids))
	if err != nil {
		return nil, mapErr(err, "expunge", nil)
	}
	gs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (gone, error) {
		var g gone
		err := r.Scan(&g.uid, &g.size)
		return g, err
	})
	if err != nil || len(gs) == 0 {
		return nil, mapErr(err, "expunge", nil)
	}
	slices.SortFunc(gs, func(a, b gone) int { return cmp.Compare(a.uid, b.uid) })
	var size int64
	for _, g := range gs {
		size += g.size
	}
	a, err := allocate(ctx, tx, mailboxID, 0, len(gs), -len(gs), -size)
	if err != nil {
		return nil, err
	}
	out := make([]store.Expunged, len(gs))
	tomb := [2][]int64{make([]int64, len(gs)), make([]int64, len(gs))}
	for i, g := range gs {
		out[i] = store.Expunged{UID: uint32(g.uid), ModSeq: a.modseq + uint64(i)}
		tomb[0][i], tomb[1][i] = g.uid, int64(out[i].ModSeq)
	}
	_, err = tx.Exec(ctx, `INSERT INTO expunged (mailbox_id, uid, modseq)
		SELECT $1, u, m FROM unnest($2::bigint[], $3::bigint[]) AS t(u, m)`, mailboxID, tomb[0], tomb[1])
	if err != nil {
		return nil, mapErr(err, "expunge", nil)
	}
	if err := charge(ctx, tx, a.accountID, -size, false); err != nil {
		return nil, err
	}
	return out, nil
}

// ExpungedSince returns the tombstones with MODSEQ greater than modseq, in
// UID order.
func (s *Store) ExpungedSince(ctx context.Context, mailboxID int64, modseq uint64) ([]store.Expunged, error) {
	rows, err := s.pool.Query(ctx, "SELECT uid, modseq FROM expunged WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid",
		mailboxID, int64(modseq))
	if err != nil {
		return nil, mapErr(err, "expunged since", nil)
	}
	ex, err := pgx.CollectRows(rows, scanExpunged)
	if err != nil {
		return nil, mapErr(err, "expunged since", nil)
	}
	return ex, nil
}

func scanExpunged(r pgx.CollectableRow) (store.Expunged, error) {
	var uid, modseq int64
	err := r.Scan(&uid, &modseq)
	return store.Expunged{UID: uint32(uid), ModSeq: uint64(modseq)}, err
}
