// Package postgres is Sealpost's scale-out storage backend: it implements
// store.Store on PostgreSQL with github.com/jackc/pgx/v5, keeping metadata,
// the outbound queue and message bodies in one database that several
// Sealpost nodes share.
//
// Message bodies live in a blobs table (bytea) and are written in the same
// transaction as the rows that point to them, so a committed Deliver or
// Enqueue is durable as a whole. Bodies over 1 MiB are kept in 1 MiB
// chunks and streamed in both directions, never held whole in memory; they
// are written just ahead of that transaction, which adopts them (see
// body.go). Copies of a message share one blob; a
// reference count kept by triggers removes a blob when the last message or
// queue item using it goes, including through cascading deletes.
//
// The schema follows IMAP CONDSTORE and QRESYNC (RFC 7162): each mailbox row
// carries UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ, and every write takes its
// UIDs and MODSEQs from that row with UPDATE ... RETURNING, which serialises
// writers per mailbox across nodes. Every changed or added message gets its
// own MODSEQ; expunges leave (UID, MODSEQ) tombstones. UIDVALIDITY comes from
// a database-wide sequence started at the Unix time of schema creation, so a
// re-created mailbox always gets a greater one. Message IDs (RFC 8474
// EMAILID) are never reused.
//
// Outbound queue items are claimed with SELECT ... FOR UPDATE SKIP LOCKED,
// so two nodes never claim the same item; an expired claim is claimable
// again, under a new claim token.
//
// The text index of IMAP SEARCH (store.TextIndex) is a table of the folded
// text, one row per body, deleted with the body by a cascade, with GIN
// trigram indexes from the pg_trgm extension, which the migration creates
// (a trusted extension since PostgreSQL 13: the database owner may). Where
// it cannot, searches still work, without the index. IDs are taken before
// commit here, so a message may commit behind the indexer's cursor:
// searches look for messages without text across the whole mailbox.
//
// Names (domains, addresses, mailboxes) are stored as given and their
// columns use the "C" collation, so they compare and sort bytewise, like
// SQLite's, whatever the cluster's locale.
//
// The schema is versioned: Open applies the SQL files under migrations/ in
// order under a PostgreSQL advisory lock, so nodes starting together do not
// race, and refuses a database whose schema is newer than the binary.
//
// Nodes learn of each other's mailbox changes through LISTEN/NOTIFY: a
// trigger announces every change to a mailbox row (and every message change
// moves its HIGHESTMODSEQ), and WatchChanges listens (store.ChangeFeed).
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"sealpost.dev/sealpost/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockKey is the pg_advisory_lock key that serialises schema
// migrations between nodes ("sealpost" in ASCII).
const migrationLockKey int64 = 0x7365616c706f7374

// maxTxRetries bounds how often a transaction is retried after a deadlock or
// serialisation failure.
const maxTxRetries = 5

// Options tune Open. The zero value is ready to use.
type Options struct {
	// MaxConns caps the connection pool; 0 keeps pgxpool's default (the
	// larger of 4 and the number of CPUs) unless the DSN sets pool_max_conns.
	MaxConns int32
	// Logger receives what the store reports outside any call, such as a
	// lost change-feed connection; nil means slog.Default().
	Logger *slog.Logger
}

// Store is a store.Store on PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

var _ store.Store = (*Store)(nil)

// Open connects to the database named by dsn (a libpq URL or key=value
// string), brings its schema up to date and returns the store.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse DSN: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s := &Store{pool: pool, log: opts.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Ping checks the database is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes every connection. Committed data is already durable.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("postgres: migration %s: name must start with a version number and _", base)
		}
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	// Numbers may have gaps (branches number their migrations apart and
	// merge them later), but never repeat.
	for i, m := range ms {
		if i > 0 && m.version == ms[i-1].version {
			return nil, fmt.Errorf("postgres: migration %s: version %d used twice", m.name, m.version)
		}
	}
	return ms, nil
}

// migrate applies the pending migrations, each in its own transaction,
// while holding a session advisory lock.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	defer func() {
		// A fresh context: the lock must go even if ctx is done. If the
		// unlock fails the connection is unusable, so drop it.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", migrationLockKey); err != nil {
			conn.Conn().Close(uctx)
		}
	}()

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version integer PRIMARY KEY,
		applied timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	rows, err := conn.Query(ctx, "SELECT version FROM schema_version")
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if current, last := slices.Max(append(applied, 0)), ms[len(ms)-1].version; current > last {
		return fmt.Errorf("postgres: database schema version %d is newer than this binary supports (%d); upgrade Sealpost", current, last)
	}
	for _, m := range ms {
		// Every migration not applied yet, so that one numbered in a
		// gap below the current version still runs.
		if slices.Contains(applied, m.version) {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_version (version) VALUES ($1)", m.version)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", m.name, err)
		}
	}
	return nil
}

// SchemaVersion returns the version of the database schema, for
// diagnostics.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	return v, nil
}

// tx runs fn in a transaction, retrying it from the start after a deadlock
// or serialisation failure. fn must therefore be safe to run again.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil || attempt >= maxTxRetries || !retryable(err) {
			return err
		}
	}
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Code == "40001" || pe.Code == "40P01" // serialization_failure, deadlock_detected
}

// mapErr turns constraint violations into the store's sentinel errors: a
// unique violation means the name is taken; a foreign-key violation means
// fk (ErrNotFound when inserting under a missing parent, ErrNotEmpty when
// deleting a parent with dependants). Other errors are wrapped with what.
func mapErr(err error, what string, fk error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%s: %w", what, store.ErrExists)
		case "23503": // foreign_key_violation
			if fk != nil {
				return fmt.Errorf("%s: %w", what, fk)
			}
		}
	}
	if isSentinel(err) {
		return err
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

func isSentinel(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExists) ||
		errors.Is(err, store.ErrNotEmpty) || errors.Is(err, store.ErrQuota) ||
		errors.Is(err, store.ErrInvalid)
}

// now returns the current time as the database stores it: UTC, to the
// microsecond, so values handed back equal values read back.
func now() time.Time { return dbTime(time.Now()) }

func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// optTime maps SQL NULL to the zero time.
func optTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
