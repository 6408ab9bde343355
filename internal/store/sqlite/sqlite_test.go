package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/storetest"
)

func openTest(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := openTest(t, t.TempDir())
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Error(err)
			}
		})
		return s
	})
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test starts child processes")
	}
	storetest.Crash(t, storetest.CrashOptions{
		Fresh: func(t *testing.T) string { return t.TempDir() },
		Open:  func(t testing.TB, dir string) store.Store { return openTest(t, dir) },
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
// the body and the commit) are removed at Open once old enough; bodies in
// use are not.
func TestSweepOrphans(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openTest(t, dir)
	if _, err := s.CreateDomain(ctx, "a.test"); err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateAccount(ctx, store.NewAccount{Address: "u@a.test", Mailboxes: []store.NewMailbox{{Name: "INBOX"}}})
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
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
	defer s.Close()
	for _, tc := range []struct {
		id   string
		kept bool
	}{{ms[0].BlobID, true}, {oldOrphan, false}, {newOrphan, true}} {
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
	b.SetParallelism(4)
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
			if _, err := s.CreateDomain(ctx, "a.test"); err != nil {
				t.Fatal(err)
			}
			a, err := s.CreateAccount(ctx, store.NewAccount{Address: "u@a.test", Mailboxes: []store.NewMailbox{{Name: "INBOX"}}})
			if err != nil {
				t.Fatal(err)
			}
			inbox, err := s.GetMailbox(ctx, a.ID, "INBOX")
			if err != nil {
				t.Fatal(err)
			}
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
