package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/blob"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/storetest"
)

func openTest(t testing.TB, dir string) *Store {
	t.Helper()
	return openWith(t, dir, Options{})
}

func openWith(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := openTest(t, t.TempDir())
		t.Cleanup(func() {
			if !t.Failed() {
				checkBlobs(t, s, false)
			}
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
		return s
	})
}

// checkBlobs checks the bodies against the metadata: every blobs row's
// refs equals the messages and queue items using it, every blobs row has its
// file with its size, no text is indexed for a body that went, nothing waits
// in blob_trash, and, unless orphansOK
// (after a crash), there is no body file or temporary file without a row.
func checkBlobs(t testing.TB, s *Store, orphansOK bool) {
	t.Helper()
	ctx := context.Background()
	rows, err := s.r.QueryContext(ctx, `SELECT b.id, b.size, b.refs,
			(SELECT COUNT(*) FROM messages m WHERE m.blob_id = b.id) + (SELECT COUNT(*) FROM queue q WHERE q.blob_id = b.id)
		FROM blobs b`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	sizes := map[string]int64{}
	for rows.Next() {
		var id string
		var size, refs, users int64
		if err := rows.Scan(&id, &size, &refs, &users); err != nil {
			t.Fatal(err)
		}
		if refs != users || users == 0 {
			t.Errorf("blob %s: refs %d, used by %d rows", id, refs, users)
		}
		sizes[id] = size
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var users int
	err = s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT blob_id FROM messages UNION ALL SELECT blob_id FROM queue)
		WHERE blob_id NOT IN (SELECT id FROM blobs)`).Scan(&users)
	if err != nil || users != 0 {
		t.Errorf("%d rows use a body with no blobs row (%v)", users, err)
	}
	// A body's text leaves with it, from the content and the index.
	var strays int
	err = s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM text_content WHERE blob_id NOT IN (SELECT id FROM blobs)").Scan(&strays)
	if err != nil || strays != 0 {
		t.Errorf("text index: %d texts of gone bodies (%v)", strays, err)
	}
	if _, err := s.w.ExecContext(ctx, "INSERT INTO text_fts(text_fts, rank) VALUES ('integrity-check', 1)"); err != nil {
		t.Errorf("text index: %v", err)
	}
	var trash int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM blob_trash").Scan(&trash); err != nil || trash != 0 {
		t.Errorf("blob_trash has %d rows (%v)", trash, err)
	}
	onDisk := map[string]bool{}
	err = s.blobs.Walk(ctx, func(in blob.Info) error {
		onDisk[in.ID] = true
		size, ok := sizes[in.ID]
		switch {
		case !ok && !orphansOK:
			t.Errorf("body file %s has no blobs row", in.ID)
		case ok && size != in.Size:
			t.Errorf("body file %s has %d bytes, blobs row says %d", in.ID, in.Size, size)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id := range sizes {
		if !onDisk[id] {
			t.Errorf("blob %s has no body file", id)
		}
	}
	if tmp, err := os.ReadDir(filepath.Join(s.blobs.Dir(), "tmp")); err != nil || len(tmp) != 0 && !orphansOK {
		t.Errorf("temporary body files left: %d (%v)", len(tmp), err)
	}
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test starts child processes")
	}
	storetest.Crash(t, storetest.CrashOptions{
		Fresh: func(t *testing.T) string { return t.TempDir() },
		Open: func(t testing.TB, dir string) store.Store {
			s := openTest(t, dir)
			// A crash may leave bodies whose rows never committed; those
			// are SweepOrphans' to remove, once old enough.
			checkBlobs(t, s, true)
			return s
		},
	})
}

func BenchmarkDeliver4KiB(b *testing.B) {
	s := openTest(b, b.TempDir())
	defer s.Close()
	storetest.BenchDeliver(b, s)
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openTest(t, dir)
	if _, err := s.CreateDomain(ctx, "a.test"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	if _, err := s.GetDomain(ctx, "a.test"); err != nil {
		t.Errorf("domain lost on reopen: %v", err)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v < 1 {
		t.Errorf("SchemaVersion = %d, %v", v, err)
	}
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v", mode, err)
	}
	var sync, fk int
	if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous = %d, %v; want 2 (FULL)", sync, err)
	}
	if err := s.w.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v", fk, err)
	}
	if _, err := s.r.ExecContext(ctx, "DELETE FROM domains"); err == nil {
		t.Error("reader pool accepted a write")
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	if _, err := s.w.Exec("INSERT INTO schema_version(version, applied) VALUES (999, 0)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(context.Background(), dir, Options{})
	if !errors.Is(err, ErrTooNew) {
		t.Fatalf("Open of a newer database = %v, want ErrTooNew", err)
	}
	// Nothing was changed by the refusal.
	db, err := sql.Open("sqlite", filepath.Join(dir, "sealpost.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow("SELECT MAX(version) FROM schema_version").Scan(&v); err != nil || v != 999 {
		t.Errorf("schema version = %d, %v", v, err)
	}
}

func TestMigrationsNumbered(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].version != 1 {
		t.Fatalf("migrations = %+v", ms)
	}
}

// TestSweepOrphans: bodies written without a committed row (a crash between
// the body and the commit) are removed by SweepOrphans, or at Open if asked
// for, once old enough; bodies in use are not. A plain Open leaves them.
func TestSweepOrphans(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sweep func(t *testing.T, dir string) *Store
	}{
		{"method", func(t *testing.T, dir string) *Store {
			s := openTest(t, dir)
			if err := s.SweepOrphans(context.Background()); err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"option", func(t *testing.T, dir string) *Store { return openWith(t, dir, Options{SweepOrphans: true}) }},
		{"grace", func(t *testing.T, dir string) *Store {
			return openWith(t, dir, Options{SweepOrphans: true, OrphanGrace: 3 * time.Hour})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { testSweepOrphans(t, tc.name == "grace", tc.sweep) })
	}
}

func testSweepOrphans(t *testing.T, longGrace bool, sweep func(t *testing.T, dir string) *Store) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openTest(t, dir)
	inbox := newInbox(t, s, 0)
	ms, err := s.Deliver(ctx, strings.NewReader("kept"), []store.Target{{MailboxID: inbox.ID}})
	if err != nil {
		t.Fatal(err)
	}
	oldOrphan, _, err := s.blobs.Put(ctx, strings.NewReader("orphan"))
	if err != nil {
		t.Fatal(err)
	}
	newOrphan, _, err := s.blobs.Put(ctx, strings.NewReader("in flight"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	old := time.Now().Add(-2 * time.Hour)
	for _, id := range []string{oldOrphan, ms[0].BlobID} {
		if err := os.Chtimes(filepath.Join(dir, "blobs", id[:2], id), old, old); err != nil {
			t.Fatal(err)
		}
	}
	s = openTest(t, dir)
	if _, err := os.Stat(filepath.Join(dir, "blobs", oldOrphan[:2], oldOrphan)); err != nil {
		t.Errorf("plain Open swept an orphan: %v", err)
	}
	s.Close()
	s = sweep(t, dir)
	defer s.Close()
	for _, tc := range []struct {
		id   string
		kept bool
	}{{ms[0].BlobID, true}, {oldOrphan, longGrace}, {newOrphan, true}} {
		_, err := os.Stat(filepath.Join(dir, "blobs", tc.id[:2], tc.id))
		if kept := err == nil; kept != tc.kept {
			t.Errorf("blob %s kept = %v, want %v", tc.id, kept, tc.kept)
		}
	}
}

// TestTrashSurvivesCrash: a body released by a committed transaction whose
// file removal never happened (a crash right after the commit) is removed
// at the next Open.
func TestTrashSurvivesCrash(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openTest(t, dir)
	id, _, err := s.blobs.Put(ctx, strings.NewReader("released"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec("INSERT INTO blob_trash(id) VALUES (?)", id); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir)
	defer s.Close()
	if _, err := s.OpenBody(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("released body still there: %v", err)
	}
	var n int
	if err := s.r.QueryRow("SELECT COUNT(*) FROM blob_trash").Scan(&n); err != nil || n != 0 {
		t.Errorf("blob_trash has %d rows, %v", n, err)
	}
}

func BenchmarkDeliver4KiBParallel(b *testing.B) {
	s := openTest(b, b.TempDir())
	defer s.Close()
	b.SetParallelism(4) // 8 goroutines on 2 CPUs
	storetest.BenchDeliverParallel(b, s)
}

func BenchmarkDeliver4KiBParallel32(b *testing.B) {
	s := openTest(b, b.TempDir())
	defer s.Close()
	b.SetParallelism(16) // 32 goroutines on 2 CPUs
	storetest.BenchDeliverParallel(b, s)
}

// errorCounter stands in for a testing.TB to count what CheckConsistent
// reports.
type errorCounter struct {
	testing.TB
	errors []string
}

func (c *errorCounter) Helper() {}
func (c *errorCounter) Errorf(format string, args ...any) {
	c.errors = append(c.errors, fmt.Sprintf(format, args...))
}

// TestCheckConsistentDetects breaks each invariant behind the store's back
// and expects CheckConsistent to notice, so that the crash test can be
// trusted to fail when a store is inconsistent.
func TestCheckConsistentDetects(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(t *testing.T, s *Store, m store.Message)
	}{
		{"none", func(*testing.T, *Store, store.Message) {}},
		{"used bytes", func(t *testing.T, s *Store, m store.Message) {
			exec(t, s, "UPDATE accounts SET used_bytes = used_bytes + 1")
		}},
		{"message count", func(t *testing.T, s *Store, m store.Message) {
			exec(t, s, "UPDATE mailboxes SET messages = messages + 1 WHERE id = ?", m.MailboxID)
		}},
		{"mailbox size", func(t *testing.T, s *Store, m store.Message) {
			exec(t, s, "UPDATE mailboxes SET size = size - 1 WHERE id = ?", m.MailboxID)
		}},
		{"uidnext", func(t *testing.T, s *Store, m store.Message) {
			exec(t, s, "UPDATE mailboxes SET uidnext = ? WHERE id = ?", m.UID, m.MailboxID)
		}},
		{"highestmodseq", func(t *testing.T, s *Store, m store.Message) {
			exec(t, s, "UPDATE mailboxes SET highest_modseq = ? WHERE id = ?", m.ModSeq-1, m.MailboxID)
		}},
		{"tombstone of live message", func(t *testing.T, s *Store, m store.Message) {
			exec(t, s, "INSERT INTO expunged(mailbox_id, uid, modseq) VALUES (?, ?, 1)", m.MailboxID, m.UID)
		}},
		{"missing body", func(t *testing.T, s *Store, m store.Message) {
			if err := os.Remove(filepath.Join(s.blobs.Dir(), m.BlobID[:2], m.BlobID)); err != nil {
				t.Fatal(err)
			}
		}},
		{"short body", func(t *testing.T, s *Store, m store.Message) {
			if err := os.Truncate(filepath.Join(s.blobs.Dir(), m.BlobID[:2], m.BlobID), 3); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, t.TempDir())
			defer s.Close()
			ctx := context.Background()
			inbox := newInbox(t, s, 0)
			var m store.Message
			for range 3 {
				ms, err := s.Deliver(ctx, strings.NewReader("Subject: x\r\n\r\nbody\r\n"), []store.Target{{MailboxID: inbox.ID}})
				if err != nil {
					t.Fatal(err)
				}
				m = ms[0]
			}
			tc.corrupt(t, s, m)
			c := &errorCounter{TB: t}
			storetest.CheckConsistent(c, s)
			if tc.name == "none" && len(c.errors) != 0 {
				t.Errorf("intact store reported: %q", c.errors)
			}
			if tc.name != "none" && len(c.errors) == 0 {
				t.Error("inconsistency not reported")
			}
		})
	}
}

func exec(t *testing.T, s *Store, q string, args ...any) {
	t.Helper()
	if _, err := s.w.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

// errLostAck stands for a COMMIT that reached the disk but reported an
// error (a failed fsync after the WAL was written).
var errLostAck = errors.New("commit acknowledgement lost")

// TestFailedCommitKeepsBody: when the commit itself fails, the rows may be
// committed all the same, so Deliver and Enqueue must not remove the body
// they wrote; when the transaction fails before its commit, they must.
func TestFailedCommitKeepsBody(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	defer s.Close()
	inbox := newInbox(t, s, 0)
	var lose bool
	s.afterCommit = func() error {
		if lose {
			return errLostAck
		}
		return nil
	}

	lose = true
	if _, err := s.Deliver(ctx, strings.NewReader("landed"), []store.Target{{MailboxID: inbox.ID}}); !errors.Is(err, errLostAck) {
		t.Fatalf("Deliver with a failed commit: %v", err)
	}
	if _, err := s.Enqueue(ctx, strings.NewReader("queued"), store.NewQueueItem{From: "u@a.test",
		Recipients: []store.NewQueueRecipient{{Address: "r@b.test"}}}); !errors.Is(err, errLostAck) {
		t.Fatalf("Enqueue with a failed commit: %v", err)
	}
	lose = false
	m, err := s.GetMessage(ctx, inbox.ID, 1)
	if err != nil {
		t.Fatalf("message of the failed commit: %v", err)
	}
	items, err := s.ListQueue(ctx)
	if err != nil || len(items) != 1 {
		t.Fatalf("queue after the failed commit = %+v, %v", items, err)
	}
	for _, id := range []string{m.BlobID, items[0].BlobID} {
		rc, err := s.OpenBody(ctx, id)
		if err != nil {
			t.Errorf("body %s of a committed row removed: %v", id, err)
			continue
		}
		rc.Close()
	}

	// A failure before the commit leaves no file behind.
	if _, err := s.Deliver(ctx, strings.NewReader("refused"), []store.Target{{MailboxID: inbox.ID + 1000}}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Deliver to a missing mailbox: %v", err)
	}
	checkBlobs(t, s, false)
	storetest.CheckConsistent(t, s)
}

// TestQueueUpgradeDefaults: an item queued under schema version 2 reads
// back after the upgrade with the delivery parameters' defaults, its
// recipients' states kept.
func TestQueueUpgradeDefaults(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, "sealpost.db"))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil || len(ms) < 3 {
		t.Fatalf("migrations = %+v, %v", ms, err)
	}
	stmts := []string{"CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)"}
	for _, m := range ms[:2] {
		text, err := migrationFiles.ReadFile(m.name)
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, string(text), fmt.Sprintf("INSERT INTO schema_version VALUES (%d, 0)", m.version))
	}
	stmts = append(stmts, "INSERT INTO blobs(id, size) VALUES ('old', 4)",
		`INSERT INTO queue(sender, recipients, blob_id, size, state, next_attempt, created, require_tls)
		VALUES ('a@b.test', '[{"Address":"r@x.test","LastError":"451 later"},{"Address":"s@x.test","Done":true}]',
			'old', 4, 'ready', 1, 1, 1)`)
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := openTest(t, dir)
	defer s.Close()
	if v, err := s.SchemaVersion(context.Background()); err != nil || v != ms[len(ms)-1].version {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, ms[len(ms)-1].version)
	}
	list, err := s.ListQueue(context.Background())
	if err != nil || len(list) != 1 {
		t.Fatalf("ListQueue = %+v, %v", list, err)
	}
	it := list[0]
	if it.From != "a@b.test" || !it.RequireTLS || it.SMTPUTF8 || it.BodyType != "" || it.EnvID != "" || it.Ret != "" ||
		it.Submitter != 0 || it.DelayWarned {
		t.Errorf("upgraded item = %+v, want the defaults", it)
	}
	want := []store.QueueRecipient{{Address: "r@x.test", LastError: "451 later"}, {Address: "s@x.test", Done: true}}
	if len(it.Recipients) != 2 || it.Recipients[0] != want[0] || it.Recipients[1] != want[1] {
		t.Errorf("upgraded recipients = %+v, want %+v", it.Recipients, want)
	}
}

// TestGroupCommit holds the writer connection so that deliveries queue up,
// then checks that they commit as one batch in which the failures (over
// quota, a missing mailbox, a caller that gave up while queued) fail alone.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	defer s.Close()
	inbox := newInbox(t, s, 25)
	var commits int
	s.afterCommit = func() error { commits++; return nil }

	hold, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		name string
		err  error
	}
	results := make(chan result, 8)
	deliver := func(ctx context.Context, name string, mailbox int64) {
		_, err := s.Deliver(ctx, strings.NewReader("0123456789"), []store.Target{{MailboxID: mailbox}})
		results <- result{name, err}
	}
	// The first finds no commit running and waits for the connection; the
	// others queue behind it.
	go deliver(ctx, "first", inbox.ID)
	waitFor(t, func() bool { s.group.mu.Lock(); defer s.group.mu.Unlock(); return s.group.running })
	gaveUp, giveUp := context.WithCancel(ctx)
	queued := []struct {
		name    string
		ctx     context.Context
		mailbox int64
	}{
		{"second", ctx, inbox.ID},
		{"missing", ctx, inbox.ID + 1000},
		{"gave up", gaveUp, inbox.ID},
		{"over quota", ctx, inbox.ID},
	}
	for i, q := range queued {
		go deliver(q.ctx, q.name, q.mailbox)
		waitFor(t, func() bool { s.group.mu.Lock(); defer s.group.mu.Unlock(); return len(s.group.pending) == i+1 })
	}
	giveUp()
	if r := <-results; r.name != "gave up" || !errors.Is(r.err, context.Canceled) {
		t.Fatalf("first result: %s: %v; want the cancelled delivery", r.name, r.err)
	}
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	want := map[string]error{"first": nil, "second": nil, "missing": store.ErrNotFound, "over quota": store.ErrQuota}
	for range want {
		r := <-results
		if w := want[r.name]; r.err != w && !errors.Is(r.err, w) {
			t.Errorf("%s: %v, want %v", r.name, r.err, w)
		}
	}
	if commits != 2 {
		t.Errorf("%d commits, want 2: the first delivery alone, then the queued ones together", commits)
	}
	mb, err := s.GetMailboxByID(ctx, inbox.ID)
	if err != nil || mb.Messages != 2 || mb.UIDNext != 3 || mb.Size != 20 {
		t.Errorf("INBOX = %+v, %v; want 2 messages of 10 bytes, UIDNEXT 3", mb, err)
	}
	checkBlobs(t, s, false)
	storetest.CheckConsistent(t, s)
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not reached in 10 s")
}

func TestChangeFeed(t *testing.T) {
	storetest.ChangeFeed(t, func(t *testing.T) (store.Store, store.Store) {
		dir := t.TempDir()
		a, b := openTest(t, dir), openTest(t, dir)
		t.Cleanup(func() {
			a.Close()
			b.Close()
		})
		return a, b
	})
}

// TestTextContentUpgrade: text indexed under the first layout of the text
// index (text_docs and an FTS5 table holding the text) is still found
// after the upgrade to text_content, by trigram and by a short string, and
// still leaves with its body.
func TestTextContentUpgrade(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, "sealpost.db"))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	upgrade := slices.IndexFunc(ms, func(m migration) bool { return strings.Contains(m.name, "text_content") })
	if upgrade < 1 {
		t.Fatalf("no text_content migration in %+v", ms)
	}
	stmts := []string{"CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)"}
	for _, m := range ms[:upgrade] {
		text, err := migrationFiles.ReadFile(m.name)
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, string(text), fmt.Sprintf("INSERT INTO schema_version VALUES (%d, 0)", m.version))
	}
	stmts = append(stmts,
		"INSERT INTO domains(id, name, created) VALUES (1, 'example.test', 0)",
		"INSERT INTO accounts(id, domain_id, address, password_hash, created) VALUES (1, 1, 'a@example.test', '', 0)",
		"INSERT INTO mailboxes(id, account_id, name, uidvalidity, uidnext, highest_modseq, messages, size, created) VALUES (1, 1, 'INBOX', 1, 2, 1, 1, 4, 0)",
		"INSERT INTO blobs(id, size) VALUES ('b1', 4)",
		"INSERT INTO messages(mailbox_id, uid, modseq, internal_date, save_date, size, blob_id) VALUES (1, 1, 1, 0, 0, 4, 'b1')",
		"INSERT INTO text_docs(id, blob_id) VALUES (7, 'b1')",
		`INSERT INTO text_fts(rowid, header, subject, from_addr, to_addr, cc_addr, bcc_addr, body)
			VALUES (7, 'subject: old\n', 'old', '', '', '', '', 'migrated text\n')`,
		"UPDATE meta SET value = 1 WHERE key = 'text_cursor'")
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := openTest(t, dir)
	defer s.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		field  store.TextField
		needle string
	}{{store.TextBody, "migrated"}, {store.TextBody, "mi"}, {store.TextSubject, "old"}} {
		hits, err := s.SearchText(ctx, 1, tc.field, tc.needle)
		if err != nil || !slices.Equal(hits.UIDs, []uint32{1}) || len(hits.Unindexed) != 0 {
			t.Errorf("SearchText(%q) after the upgrade = %+v, %v", tc.needle, hits, err)
		}
	}
	if _, err := s.Expunge(ctx, 1, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRow("SELECT COUNT(*) FROM text_content").Scan(&n); err != nil || n != 0 {
		t.Errorf("text_content after the expunge: %d rows (%v)", n, err)
	}
	if _, err := s.w.Exec("INSERT INTO text_fts(text_fts, rank) VALUES ('integrity-check', 1)"); err != nil {
		t.Errorf("text index after the expunge: %v", err)
	}
}

// TestCountFlagsUsesIndexes: the unseen and deleted counts come from the
// partial indexes, not from a scan of the mailbox.
func TestCountFlagsUsesIndexes(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+countFlagsQuery, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	all := strings.Join(plan, "\n")
	for _, idx := range []string{"messages_unseen", "messages_deleted"} {
		if strings.Count(all, idx) == 0 {
			t.Errorf("the plan does not use %s:\n%s", idx, all)
		}
	}
	if strings.Contains(all, "SCAN messages") {
		t.Errorf("the plan scans messages:\n%s", all)
	}
}

// TestTextCompaction: after many texts are deleted, CompactText merges
// the FTS5 index until the dead entries are gone, and searches still find
// exactly the live texts. Below the threshold it does nothing.
func TestTextCompaction(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	inbox := newInbox(t, s, 0)
	const total, kept = 1600, 200
	var uids []uint32
	var docs []store.TextDoc
	for i := range total {
		ms, err := s.Deliver(ctx, strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i)), []store.Target{{MailboxID: inbox.ID}})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, ms[0].UID)
		words := strings.Repeat(fmt.Sprintf("word%05d text of message %d ", i*7919%100000, i), 40)
		docs = append(docs, store.TextDoc{BlobID: ms[0].BlobID, Header: fmt.Sprintf("subject: message %d\n", i),
			Subject: fmt.Sprintf("message %d", i), Body: words})
		if len(docs) == 100 {
			if err := s.IndexText(ctx, docs, ms[0].ID); err != nil {
				t.Fatal(err)
			}
			docs = docs[:0]
		}
	}
	indexSize := func() (bytes int64) {
		t.Helper()
		if err := s.r.QueryRowContext(ctx, "SELECT sum(length(block)) FROM text_fts_data").Scan(&bytes); err != nil {
			t.Fatal(err)
		}
		return bytes
	}
	steps := func() int {
		t.Helper()
		for n := 0; n < 10000; n++ {
			more, err := s.CompactText(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !more {
				return n
			}
		}
		t.Fatal("CompactText still has work after 10000 steps")
		return 0
	}

	// Under the threshold: nothing to do.
	if _, err := s.Expunge(ctx, inbox.ID, uids[:compactMinDeleted-1]); err != nil {
		t.Fatal(err)
	}
	before := indexSize()
	if n := steps(); n != 0 || indexSize() != before {
		t.Errorf("with %d deletions CompactText took %d steps, index %d -> %d bytes", compactMinDeleted-1, n, before, indexSize())
	}

	if _, err := s.Expunge(ctx, inbox.ID, uids[compactMinDeleted-1:total-kept]); err != nil {
		t.Fatal(err)
	}
	bloated := indexSize()
	if n := steps(); n == 0 {
		t.Errorf("with %d deletions CompactText did nothing", total-kept)
	}
	compacted := indexSize()
	// Done in steps, the compaction leaves the index as one optimize does.
	if _, err := s.w.Exec("INSERT INTO text_fts(text_fts) VALUES ('optimize')"); err != nil {
		t.Fatal(err)
	}
	if optimized := indexSize(); compacted >= bloated || compacted != optimized {
		t.Errorf("index of %d bytes after %d deletions: %d bytes after compaction, %d after optimize", bloated, total-kept, compacted, optimized)
	}
	var deleted int64
	if err := s.r.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'text_deleted'").Scan(&deleted); err != nil || deleted != 0 {
		t.Errorf("text_deleted after compaction = %d (%v)", deleted, err)
	}
	if _, err := s.w.Exec("INSERT INTO text_fts(text_fts, rank) VALUES ('integrity-check', 1)"); err != nil {
		t.Errorf("text index after compaction: %v", err)
	}
	for _, tc := range []struct {
		needle string
		want   []uint32
	}{
		{"message 1599", uids[1599:]},
		{"message 1400", uids[1400:1401]},
		{"message 1399", nil},
		{"message 5", nil},
		{"text of message 14", uids[1400:1500]},
	} {
		hits, err := s.SearchText(ctx, inbox.ID, store.TextAll, tc.needle)
		if err != nil || !slices.Equal(hits.UIDs, tc.want) || len(hits.Unindexed) != 0 {
			t.Errorf("SearchText(%q) = %v, %d unindexed (%v); want %v", tc.needle, hits.UIDs, len(hits.Unindexed), err, tc.want)
		}
	}
	t.Logf("index: %d bytes, %d after %d of %d texts were deleted, %d after compaction", before, bloated, total-kept, total, compacted)
}

// newInbox creates the domain a.test and its account u@a.test, with a
// quota (0: none), and returns its INBOX.
func newInbox(t *testing.T, s *Store, quota int64) store.Mailbox {
	t.Helper()
	ctx := t.Context()
	if _, err := s.CreateDomain(ctx, "a.test"); err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateAccount(ctx, store.NewAccount{Address: "u@a.test", QuotaBytes: quota, Mailboxes: []store.NewMailbox{{Name: "INBOX"}}})
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return inbox
}
