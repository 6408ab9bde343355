package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
)

// chunkSize is the most of a body one row holds, and so the most of it in
// memory at a time while it is written or read.
const chunkSize = 1 << 20

// pendingGrace is how old a pending body must be before SweepOrphans
// removes it. A pending body is visible only once its own transaction has
// committed, and the transaction that adopts it follows at once, so an
// hour leaves a wide margin.
const pendingGrace = time.Hour

// spooled is a body read from its caller: a small one whole in memory,
// to be inserted with the rows that use it, or a large one already written
// as a pending blob.
type spooled struct {
	data []byte // the whole body, when blob is 0
	blob int64  // the pending blob of a large body
	size int64
	// summary is stored with the body when set (package mimeinfo's
	// encoding); the caller makes it while spool reads.
	summary []byte
}

// spool reads body. Up to chunkSize bytes it keeps the body in memory, as
// one row will hold it anyway. A larger body is written chunk by chunk to
// a pending blob, in a transaction of its own, so that the caller's
// transaction, which may be retried from the start, need not read body
// again. The caller adopts a pending blob in its transaction, or discards
// it if that fails.
func (s *Store) spool(ctx context.Context, body io.Reader) (spooled, error) {
	var first bytes.Buffer
	n, err := io.CopyN(&first, body, chunkSize+1)
	if err != nil && !errors.Is(err, io.EOF) {
		return spooled{}, fmt.Errorf("read body: %w", err)
	}
	if n <= chunkSize {
		data := first.Bytes()
		if data == nil {
			data = []byte{}
		}
		return spooled{data: data, size: n}, nil
	}
	rest := io.MultiReader(bytes.NewReader(first.Bytes()[chunkSize:]), body)
	sp := spooled{size: chunkSize}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "INSERT INTO blobs (size, data, pending) VALUES (0, $1, now()) RETURNING id",
			first.Bytes()[:chunkSize]).Scan(&sp.blob); err != nil {
			return fmt.Errorf("write body: %w", err)
		}
		first = bytes.Buffer{} // let the first chunk go
		buf := make([]byte, chunkSize)
		chunks := 0
		for {
			n, err := io.ReadFull(rest, buf)
			if n > 0 {
				chunks++
				sp.size += int64(n)
				if _, err := tx.Exec(ctx, "INSERT INTO blob_chunks (blob_id, n, data) VALUES ($1, $2, $3)",
					sp.blob, chunks, buf[:n]); err != nil {
					return fmt.Errorf("write body: %w", err)
				}
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("read body: %w", err)
			}
		}
		_, err := tx.Exec(ctx, "UPDATE blobs SET size = $2, chunks = $3 WHERE id = $1", sp.blob, sp.size, chunks)
		return err
	})
	if err != nil {
		return spooled{}, err
	}
	return sp, nil
}

// adopt queues, in the caller's transaction, what makes sp's body part of
// it: the insertion of a small body (the statement that uses it then takes
// its ID from currval, see blobIDArg) or the end of a large one's pending
// state.
func (sp spooled) adopt(b *pgx.Batch) {
	if sp.blob == 0 {
		b.Queue("INSERT INTO blobs (size, data, summary) VALUES ($1, $2, $3)", sp.size, sp.data, sp.summary)
		return
	}
	b.Queue("UPDATE blobs SET pending = NULL, summary = $2 WHERE id = $1 AND pending IS NOT NULL", sp.blob, sp.summary)
}

// checkAdopted checks the result of adopt's statement: a pending body
// that vanished (swept after an impossibly long wait) fails the write.
func (sp spooled) checkAdopted(br pgx.BatchResults) error {
	tag, err := br.Exec()
	if err != nil {
		return err
	}
	if sp.blob != 0 && tag.RowsAffected() != 1 {
		return fmt.Errorf("pending body %d is gone", sp.blob)
	}
	return nil
}

// insert is adopt for a transaction that needs the blob's ID at once.
func (sp spooled) insert(ctx context.Context, tx pgx.Tx) (int64, error) {
	if sp.blob == 0 {
		var id int64
		err := tx.QueryRow(ctx, "INSERT INTO blobs (size, data, summary) VALUES ($1, $2, $3) RETURNING id",
			sp.size, sp.data, sp.summary).Scan(&id)
		return id, err
	}
	tag, err := tx.Exec(ctx, "UPDATE blobs SET pending = NULL, summary = $2 WHERE id = $1 AND pending IS NOT NULL",
		sp.blob, sp.summary)
	if err == nil && tag.RowsAffected() != 1 {
		err = fmt.Errorf("pending body %d is gone", sp.blob)
	}
	return sp.blob, err
}

// blobIDArg is the blob ID argument of the statements that use the body:
// NULL for a small body, which they read from currval.
func (sp spooled) blobIDArg() any {
	if sp.blob == 0 {
		return nil
	}
	return sp.blob
}

// discard removes a large body whose transaction failed. A failure here
// only leaves it for SweepOrphans.
func (s *Store) discard(sp spooled) {
	if sp.blob == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = s.pool.Exec(ctx, "DELETE FROM blobs WHERE id = $1 AND pending IS NOT NULL AND refs = 0", sp.blob)
}

// SweepOrphans removes large bodies left pending by a crash between their
// writing and the transaction that would have used them.
func (s *Store) SweepOrphans(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, "DELETE FROM blobs WHERE pending < $1 AND refs = 0", time.Now().Add(-pendingGrace))
	if err != nil {
		return fmt.Errorf("postgres: sweep orphaned bodies: %w", err)
	}
	return nil
}

// bodyReader reads a chunked body one chunk at a time.
type bodyReader struct {
	s      *Store
	ctx    context.Context
	blob   int64
	next   int // the next chunk to fetch
	chunks int
	cur    bytes.Reader
}

// OpenBody returns a message body by blob ID. A body of several chunks is
// read one chunk at a time, as the caller reads.
func (s *Store) OpenBody(ctx context.Context, id string) (io.ReadCloser, error) {
	n, err := parseBlobID(id)
	if err != nil {
		return nil, err
	}
	var data []byte
	var chunks int
	if err := s.pool.QueryRow(ctx, "SELECT data, chunks FROM blobs WHERE id = $1 AND pending IS NULL", n).
		Scan(&data, &chunks); err != nil {
		return nil, mapErr(err, "blob "+id, nil)
	}
	r := &bodyReader{s: s, ctx: ctx, blob: n, next: 1, chunks: chunks}
	r.cur.Reset(data)
	return r, nil
}

func (r *bodyReader) Read(p []byte) (int, error) {
	for r.cur.Len() == 0 {
		if r.next > r.chunks {
			return 0, io.EOF
		}
		var data []byte
		err := r.s.pool.QueryRow(r.ctx, "SELECT data FROM blob_chunks WHERE blob_id = $1 AND n = $2", r.blob, r.next).Scan(&data)
		if err != nil {
			return 0, mapErr(err, fmt.Sprintf("blob %d chunk %d", r.blob, r.next), nil)
		}
		r.cur.Reset(data)
		r.next++
	}
	return r.cur.Read(p)
}

func (r *bodyReader) Close() error { return nil }
