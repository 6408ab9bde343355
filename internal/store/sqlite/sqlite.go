// Package sqlite is Sealpost's embedded storage backend: metadata in one
// SQLite database (modernc.org/sqlite, no cgo) and message bodies as files
// (package blob). It implements store.Store.
//
// Layout of the data directory:
//
//	DIR/sealpost.db   the database, in WAL mode
//	DIR/blobs/        message bodies, see package blob
//
// Durability: the database runs with journal_mode=WAL and
// synchronous=FULL. In WAL mode, synchronous=NORMAL syncs the WAL only at
// checkpoints, so a transaction acknowledged just before a power loss can be
// rolled back; FULL syncs the WAL on every commit, which is what "when
// Deliver returns nil the message is durable" needs. A body is durable
// (file and directory synced, see package blob) before the transaction that
// refers to it begins.
//
// Group commit: Deliver and Enqueue share transactions, since the WAL sync
// of each commit is what bounds them. Each caller writes and syncs its body
// in its own goroutine, so those syncs run in parallel (and the file system
// merges them into shared journal commits), then queues the rest of its
// work. The caller that finds no commit running commits at once: no timer,
// so a lone delivery waits for nothing. Callers arriving meanwhile queue up;
// when a commit ends, the first of them commits the whole queue in one
// transaction and one WAL sync, and each caller gets its own outcome only
// after that sync. Inside the batch each write runs in a savepoint, so one
// that fails its own checks (over quota, a missing mailbox) is undone alone
// and sees exactly the state a serial run would have shown it; if the
// commit itself fails, every write of the batch reports that failure and
// keeps its body, as a lone write would.
//
// The directory syncs stay with the callers instead of moving to the
// committer once per distinct directory: bodies are spread over 256 shard
// directories, so a batch of a few dozen rarely touches the same one twice
// and there is little to share, while in the committer they would run one
// after the other, inside the commit's critical path. Package blob writes a
// body in place rather than renaming it, which makes the directory sync
// cheap as well (see there).
//
// Concurrency: all writes go through one connection and start with BEGIN
// IMMEDIATE, so a write transaction holds the write lock from its first
// statement and read-then-write sequences (UIDNEXT, quota, the address
// namespace) cannot interleave; reads use a separate pool and run
// concurrently with the writer thanks to WAL. Another process (the command
// line tools) may open the same directory; the busy timeout makes it wait
// for the lock instead of failing. WatchChanges (store.ChangeFeed) reports
// every process's commits to mailboxes, by watching PRAGMA data_version.
//
// Bodies are shared by the copies of a message and by queue items through a
// reference count kept by triggers (see migrations/0001_init.sql). A body
// whose count drops to zero is removed after the commit; if a crash comes
// first, the next Open removes it. Bodies written for a transaction that
// never committed (a crash in between, or a commit that failed) are left
// for SweepOrphans, which a server runs in the background: walking every
// body file is too slow for each Open of a command-line tool.
//
// The text index of IMAP SEARCH (store.TextIndex) is an FTS5 table with the
// trigram tokenizer over a table of the folded text, one row per body,
// removed by a trigger when the body goes (see migrations/0006 and 0007,
// which moved the text out of the FTS5 table into text_content). Writes
// commit in message ID order, so the messages without text are those after
// the indexer's cursor, and a search finds them without walking the
// mailbox.
//
// The schema is versioned: numbered SQL files under migrations/ are applied
// in one transaction at Open, and a database whose version is newer than
// this binary knows is refused.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"

	"sealpost.dev/sealpost/internal/blob"
	"sealpost.dev/sealpost/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrTooNew is returned by Open for a database written by a newer Sealpost.
var ErrTooNew = errors.New("sqlite: database schema is newer than this program")

// Options tunes the store. The zero value is a good default.
type Options struct {
	// Readers is the maximum number of concurrent read connections.
	// Zero means 4.
	Readers int
	// BusyTimeout is how long a connection waits for a lock held by another
	// process. Zero means 5 seconds.
	BusyTimeout time.Duration
	// SweepOrphans runs SweepOrphans in Open, before it returns.
	SweepOrphans bool
	// OrphanGrace is the age past which SweepOrphans removes a body file
	// with no metadata; younger files may belong to a delivery in flight.
	// Zero or negative means one hour.
	OrphanGrace time.Duration
}

// Store is the SQLite store. It is safe for concurrent use.
type Store struct {
	w       *sql.DB   // one connection, BEGIN IMMEDIATE
	r       *readPool // read-only pool, statements kept
	readDSN string    // opens a connection like those of r
	blobs   *blob.Store
	stmts   stmts
	grace   time.Duration // Options.OrphanGrace
	group   committer     // group commit of Deliver and Enqueue
	// compacting is set while CompactText has steps to go.
	compacting atomic.Bool
	// afterCommit, if set, runs after every successful commit and its
	// error is reported as the commit's: tests use it to play a commit
	// that landed but failed to say so.
	afterCommit func() error
}

// stmts are the statements of the delivery path, prepared once on the
// writer connection.
type stmts struct {
	insertBlob, bumpMailbox, insertMessage, charge *sql.Stmt
}

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.stmts.insertBlob, "INSERT INTO blobs(id, size, summary) VALUES (?, ?, ?)"},
		{&s.stmts.bumpMailbox, `UPDATE mailboxes SET uidnext = uidnext + 1, highest_modseq = highest_modseq + 1,
			messages = messages + 1, size = size + ? WHERE id = ? RETURNING account_id, uidnext - 1, highest_modseq`},
		{&s.stmts.insertMessage, `INSERT INTO messages(mailbox_id, uid, modseq, flags, internal_date, save_date, size, blob_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`},
		{&s.stmts.charge, "UPDATE accounts SET used_bytes = used_bytes + ? WHERE id = ? RETURNING used_bytes, quota_bytes"},
	} {
		st, err := s.w.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("sqlite: prepare: %w", err)
		}
		*p.stmt = st
	}
	return nil
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store in dir: dir/sealpost.db and
// dir/blobs/. It applies pending migrations and removes the files of bodies
// released by a transaction that committed just before a crash; with
// opts.SweepOrphans it also runs SweepOrphans.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if opts.Readers <= 0 {
		opts.Readers = 4
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	if opts.OrphanGrace <= 0 {
		opts.OrphanGrace = time.Hour
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	blobs, err := blob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "sealpost.db")
	busy := strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)
	wq := url.Values{}
	wq.Add("_pragma", "busy_timeout("+busy+")")
	wq.Add("_pragma", "journal_mode(WAL)")
	wq.Add("_pragma", "synchronous(FULL)")
	wq.Add("_pragma", "foreign_keys(1)")
	wq.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", "file:"+path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, blobs: blobs, grace: opts.OrphanGrace}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		w.Close()
		return nil, err
	}
	rq := url.Values{}
	rq.Add("_pragma", "busy_timeout("+busy+")")
	rq.Add("_pragma", "query_only(1)")
	s.readDSN = "file:" + path + "?" + rq.Encode()
	r, err := sql.Open("sqlite", s.readDSN)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	r.SetMaxOpenConns(opts.Readers)
	r.SetMaxIdleConns(opts.Readers)
	s.r = newReadPool(r)
	if err := s.emptyTrash(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if opts.SweepOrphans {
		if err := s.SweepOrphans(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// Close closes the database. Every commit was already durable.
func (s *Store) Close() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.stmts.insertBlob, s.stmts.bumpMailbox, s.stmts.insertMessage, s.stmts.charge} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	return errors.Join(append(errs, s.w.Close())...)
}

type migration struct {
	version int
	name    string
}

func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := filepath.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("sqlite: migration %s: name must start with its number", base)
		}
		ms = append(ms, migration{v, n})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	// Numbers may have gaps (branches number their migrations apart and
	// merge them later), but never repeat.
	for i, m := range ms {
		if m.version < 1 || i > 0 && m.version == ms[i-1].version {
			return nil, fmt.Errorf("sqlite: migration %s: number not positive or not unique", m.name)
		}
	}
	return ms, nil
}

// migrate brings the schema to the latest version in one transaction.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	applied, err := appliedVersions(ctx, tx)
	if err != nil {
		return err
	}
	if cur, last := slices.Max(append(applied, 0)), ms[len(ms)-1].version; cur > last {
		return fmt.Errorf("%w: database is at version %d, this program knows up to %d", ErrTooNew, cur, last)
	}
	for _, m := range ms {
		// Every migration not applied yet, so that one numbered in a
		// gap below the current version still runs.
		if slices.Contains(applied, m.version) {
			continue
		}
		text, err := migrationFiles.ReadFile(m.name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(text)); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_version(version, applied) VALUES (?, ?)",
			m.version, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// appliedVersions returns the versions of the migrations applied.
func appliedVersions(ctx context.Context, tx *sql.Tx) ([]int, error) {
	rows, err := tx.QueryContext(ctx, "SELECT version FROM schema_version")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return vs, nil
}

// SchemaVersion returns the schema version of the open database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.r.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	return v, nil
}

// emptyTrash removes the files of bodies whose release committed but whose
// removal a crash cut short. It costs one read when there are none, so Open
// can afford it.
func (s *Store) emptyTrash(ctx context.Context) error {
	var trash bool
	if err := s.r.QueryRowContext(ctx, "SELECT EXISTS(SELECT 1 FROM blob_trash)").Scan(&trash); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if !trash {
		return nil
	}
	return s.write(ctx, true, func(*sql.Tx) error { return nil })
}

// SweepOrphans removes what a crash or a failed commit may have left: the
// files of bodies released by a committed transaction but not yet removed,
// bodies older than Options.OrphanGrace that no row refers to, and stale
// temporary files. It reads every body directory, so a server runs it in
// the background rather than delaying its start; it is safe to run while
// the store is in use, by this process or another.
func (s *Store) SweepOrphans(ctx context.Context) error {
	if err := s.write(ctx, true, func(*sql.Tx) error { return nil }); err != nil {
		return err
	}
	olderThan := time.Now().Add(-s.grace)
	// Sweep walks shard by shard: load the IDs of one shard at a time, so
	// that a large store costs 256 range queries, not one per body.
	var shard string
	var known map[string]bool
	_, err := s.blobs.Sweep(ctx, olderThan, func(ctx context.Context, id string) (bool, error) {
		if p := id[:2]; p != shard || known == nil {
			var err error
			if known, err = s.blobShard(ctx, p); err != nil {
				return false, err
			}
			shard = p
		}
		return known[id], nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: sweeping orphan bodies: %w", err)
	}
	return nil
}

// blobShard returns the IDs of the bodies whose IDs start with prefix.
func (s *Store) blobShard(ctx context.Context, prefix string) (map[string]bool, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT id FROM blobs WHERE id >= ? AND id < ?", prefix, prefix+"g")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

// errCommit marks an error from COMMIT itself. The transaction may have
// been committed all the same (the WAL written but its sync failed), so
// files its rows may refer to must stay.
var errCommit = errors.New("commit")

// write runs fn in a write transaction. With freesBlobs, bodies whose last
// reference the transaction removed are deleted after the commit. An error
// matching errCommit means the outcome is unknown; any other means nothing
// was committed.
func (s *Store) write(ctx context.Context, freesBlobs bool, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	var trash []string
	if freesBlobs {
		if trash, err = takeTrash(ctx, tx); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %w: %w", errCommit, err)
	}
	if s.afterCommit != nil {
		if err := s.afterCommit(); err != nil {
			return fmt.Errorf("sqlite: %w: %w", errCommit, err)
		}
	}
	// A failure here leaves orphans for SweepOrphans; the transaction
	// itself succeeded.
	for _, id := range trash {
		s.blobs.Remove(id)
	}
	return nil
}

// removeUnlessCommitted removes the body written for a transaction that
// failed with err, unless the failure came from the commit itself: then the
// rows may exist and SweepOrphans decides later.
func (s *Store) removeUnlessCommitted(blobID string, err error) {
	if !errors.Is(err, errCommit) {
		s.blobs.Remove(blobID)
	}
}

func takeTrash(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, "DELETE FROM blob_trash RETURNING id")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return ids, nil
}

// Extended SQLite result codes for constraint violations.
const (
	codeConstraintForeignKey = 787
	codeConstraintPrimaryKey = 1555
	codeConstraintUnique     = 2067
)

func isUnique(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == codeConstraintUnique || se.Code() == codeConstraintPrimaryKey)
}

func isForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == codeConstraintForeignKey
}

// wrap maps constraint violations and missing rows to the store's sentinel
// errors and prefixes everything else.
func wrap(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	case isUnique(err):
		return fmt.Errorf("%s: %w", what, store.ErrExists)
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExists),
		errors.Is(err, store.ErrNotEmpty), errors.Is(err, store.ErrQuota),
		errors.Is(err, store.ErrInvalid):
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
