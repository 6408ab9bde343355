package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/storetest"
)

// testDSN returns the server DSN for tests, or skips the test. When
// SEALPOST_REQUIRE_POSTGRES is set (scripts/test.sh, CI), a missing DSN
// fails the test instead: both backends must always be tested there.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("SEALPOST_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("SEALPOST_REQUIRE_POSTGRES") != "" {
			t.Fatal("SEALPOST_TEST_POSTGRES not set, and SEALPOST_REQUIRE_POSTGRES says PostgreSQL tests must run")
		}
		t.Skip("SEALPOST_TEST_POSTGRES not set")
	}
	return dsn
}

// freshDatabase creates an empty database for one test, drops it when the
// test ends, and returns its DSN.
func freshDatabase(t testing.TB) string {
	t.Helper()
	return freshDatabaseWith(t, "")
}

// freshDatabaseWith is freshDatabase with extra CREATE DATABASE options.
func freshDatabaseWith(t testing.TB, options string) string {
	t.Helper()
	return storetest.PostgresDatabase(t, testDSN(t), options)
}

// openAt opens a store on dsn and closes it when the test ends.
func openAt(t testing.TB, dsn string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, dsn, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openTest(t testing.TB) *Store { return openAt(t, freshDatabase(t)) }

// TestStore runs the shared suite, each subtest on a database of its own.
func TestStore(t *testing.T) {
	testDSN(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		s := openTest(t)
		t.Cleanup(func() {
			if !t.Failed() {
				checkBlobRefs(t, s)
			}
		})
		return s
	})
}

// TestCrash kills a delivering process with SIGKILL and checks that what it
// acknowledged survived and the database is consistent.
func TestCrash(t *testing.T) {
	testDSN(t)
	storetest.Crash(t, storetest.CrashOptions{
		Fresh: func(t *testing.T) string { return freshDatabase(t) },
		Open: func(t testing.TB, dsn string) store.Store {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := Open(ctx, dsn, Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			waitOthersGone(ctx, t, s)
			checkBlobRefs(t, s)
			return s
		},
	})
}

// waitOthersGone waits until no other session is connected to the store's
// database. A client killed with SIGKILL leaves its server process running
// until that notices the closed socket, and a COMMIT it had sent may still
// land meanwhile; only once it is gone is the outcome settled and safe to
// check.
func waitOthersGone(ctx context.Context, t testing.TB, s *Store) {
	t.Helper()
	for range 500 {
		var n int
		err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n)
		if err != nil {
			t.Fatalf("count sessions: %v", err)
		}
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("sessions of a killed process still connected after 10s")
}

// BenchmarkDeliver4KiB measures durable single-mailbox delivery.
func BenchmarkDeliver4KiB(b *testing.B) {
	storetest.BenchDeliver(b, openTest(b))
}

// BenchmarkDeliver4KiBParallel delivers from 8 goroutines (4 per CPU), as
// concurrent SMTP sessions do.
func BenchmarkDeliver4KiBParallel(b *testing.B) {
	b.SetParallelism(4)
	storetest.BenchDeliverParallel(b, openTest(b))
}

// setup makes a domain and an account with INBOX and Archive.
func setup(t *testing.T, s *Store, quota int64) (store.Account, store.Mailbox, store.Mailbox) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.CreateDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	a, err := s.CreateAccount(ctx, store.NewAccount{Address: "ann@example.org", PasswordHash: "x", QuotaBytes: quota,
		Mailboxes: []store.NewMailbox{{Name: "INBOX", Subscribed: true}, {Name: "Archive", SpecialUse: `\Archive`}}})
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	archive, err := s.GetMailbox(ctx, a.ID, "Archive")
	if err != nil {
		t.Fatal(err)
	}
	return a, inbox, archive
}

// checkBlobRefs checks every blob's reference count against the rows that
// use it; a blob nothing uses must be gone.
func checkBlobRefs(t testing.TB, s *Store) {
	t.Helper()
	rows, _ := s.pool.Query(context.Background(), `SELECT b.id, b.refs,
			(SELECT count(*) FROM messages m WHERE m.blob_id = b.id) + (SELECT count(*) FROM queue q WHERE q.blob_id = b.id)
		FROM blobs b`)
	var id, refs, users int64
	_, err := pgx.ForEachRow(rows, []any{&id, &refs, &users}, func() error {
		if refs != users || users == 0 {
			t.Errorf("blob %d: refs %d, used by %d rows", id, refs, users)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func countRows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrationsConcurrentAndVersionGuard(t *testing.T) {
	dsn := freshDatabase(t)
	ctx := context.Background()
	const nodes = 4
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(ctx, dsn, Options{MaxConns: 2})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: Open: %v", i, err)
		}
	}
	s := openAt(t, dsn)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != ms[len(ms)-1].version {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, ms[len(ms)-1].version)
	}
	if n := countRows(t, s, "schema_version"); n != len(ms) {
		t.Fatalf("schema_version has %d rows, want %d", n, len(ms))
	}

	if _, err := s.pool.Exec(ctx, "INSERT INTO schema_version (version) VALUES ($1)", ms[len(ms)-1].version+1); err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(ctx, dsn, Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("Open of a newer schema: err = %v, want a refusal", err)
	}
}

func TestErrorMapping(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	a, inbox, _ := setup(t, s, 0)
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"domain taken", func() error { _, err := s.CreateDomain(ctx, "example.org"); return err }, store.ErrExists},
		{"negative quota", func() error { return s.SetQuota(ctx, "ann@example.org", -5) }, store.ErrInvalid},
		{"rename below itself", func() error { return s.RenameMailbox(ctx, inbox.ID, "INBOX/Sub") }, store.ErrInvalid},
		{"account taken", func() error {
			_, err := s.CreateAccount(ctx, store.NewAccount{Address: "ann@example.org"})
			return err
		}, store.ErrExists},
		{"alias over account", func() error { _, err := s.CreateAlias(ctx, "ann@example.org", []string{"x@y.z"}); return err }, store.ErrExists},
		{"account in unknown domain", func() error {
			_, err := s.CreateAccount(ctx, store.NewAccount{Address: "bob@example.net"})
			return err
		}, store.ErrNotFound},
		{"alias in unknown domain", func() error { _, err := s.CreateAlias(ctx, "@example.net", nil); return err }, store.ErrNotFound},
		{"domain with account", func() error { return s.DeleteDomain(ctx, "example.org") }, store.ErrNotEmpty},
		{"unknown domain", func() error { return s.DeleteDomain(ctx, "example.com") }, store.ErrNotFound},
		{"mailbox taken", func() error { _, err := s.CreateMailbox(ctx, a.ID, store.NewMailbox{Name: "INBOX"}); return err }, store.ErrExists},
		{"mailbox of unknown account", func() error { _, err := s.CreateMailbox(ctx, a.ID+100, store.NewMailbox{Name: "X"}); return err }, store.ErrNotFound},
		{"rename onto existing", func() error { return s.RenameMailbox(ctx, inbox.ID, "Archive") }, store.ErrExists},
		{"deliver to unknown mailbox", func() error {
			_, err := s.Deliver(ctx, strings.NewReader("x"), []store.Target{{MailboxID: inbox.ID + 100}})
			return err
		}, store.ErrNotFound},
		{"unknown blob", func() error { _, err := s.OpenBody(ctx, "nope"); return err }, store.ErrNotFound},
		{"unknown queue item", func() error { return s.DropQueueItem(ctx, 42) }, store.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}

	// With the account and its alias gone, the domain can go.
	if err := s.DeleteAccount(ctx, "ann@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDomain(ctx, "example.org"); err != nil {
		t.Fatalf("DeleteDomain of an empty domain: %v", err)
	}
}

func TestBlobsSharedAndReleased(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	_, inbox, archive := setup(t, s, 0)
	body := "Subject: hi\r\n\r\nshared body\r\n"
	ms, err := s.Deliver(ctx, strings.NewReader(body), []store.Target{{MailboxID: inbox.ID}, {MailboxID: archive.ID, Flags: []string{`\Seen`}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].BlobID != ms[1].BlobID || ms[0].ID == ms[1].ID {
		t.Fatalf("Deliver = %+v, want two messages sharing a blob", ms)
	}
	cp, err := s.Copy(ctx, inbox.ID, []uint32{ms[0].UID}, archive.ID)
	if err != nil || len(cp) != 1 || cp[0].BlobID != ms[0].BlobID {
		t.Fatalf("Copy = %+v, %v", cp, err)
	}
	if n := countRows(t, s, "blobs"); n != 1 {
		t.Fatalf("%d blobs, want 1", n)
	}
	var refs int
	if err := s.pool.QueryRow(ctx, "SELECT refs FROM blobs").Scan(&refs); err != nil || refs != 3 {
		t.Fatalf("refs = %d, %v; want 3", refs, err)
	}
	checkBlobRefs(t, s)
	if _, err := s.Expunge(ctx, archive.ID, []uint32{ms[1].UID, cp[0].UID}); err != nil {
		t.Fatal(err)
	}
	checkBlobRefs(t, s)
	r, err := s.OpenBody(ctx, ms[0].BlobID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if string(got) != body {
		t.Fatalf("body = %q, want %q", got, body)
	}
	// Deleting the account cascades to the last copy and its body.
	if err := s.DeleteAccount(ctx, "ann@example.org"); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, s, "blobs"); n != 0 {
		t.Fatalf("%d blobs left after the last reference went, want 0", n)
	}
	if _, err := s.OpenBody(ctx, ms[0].BlobID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("OpenBody of a released blob: %v", err)
	}
}

func TestQuota(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	_, inbox, archive := setup(t, s, 100)
	if _, err := s.Deliver(ctx, strings.NewReader(strings.Repeat("a", 60)), []store.Target{{MailboxID: inbox.ID}}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Deliver(ctx, strings.NewReader(strings.Repeat("b", 30)), []store.Target{{MailboxID: inbox.ID}, {MailboxID: archive.ID}})
	if !errors.Is(err, store.ErrQuota) {
		t.Fatalf("Deliver over quota: %v", err)
	}
	a, err := s.GetAccount(ctx, "ann@example.org")
	if err != nil || a.UsedBytes != 60 {
		t.Fatalf("UsedBytes = %d, %v; want 60 (the failed delivery must leave nothing)", a.UsedBytes, err)
	}
	if n := countRows(t, s, "blobs"); n != 1 {
		t.Fatalf("%d blobs, want 1", n)
	}
	// Moving within the account never fails on quota.
	if _, err := s.Move(ctx, inbox.ID, []uint32{1}, archive.ID); err != nil {
		t.Fatalf("Move: %v", err)
	}
}

func TestUIDValidityGrowsOnRecreate(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	a, _, _ := setup(t, s, 0)
	prev := uint32(0)
	for i := range 3 {
		m, err := s.CreateMailbox(ctx, a.ID, store.NewMailbox{Name: "Work"})
		if err != nil {
			t.Fatal(err)
		}
		if m.UIDValidity <= prev || m.UIDNext != 1 {
			t.Fatalf("round %d: UIDVALIDITY %d after %d, UIDNEXT %d", i, m.UIDValidity, prev, m.UIDNext)
		}
		prev = m.UIDValidity
		if err := s.DeleteMailbox(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConcurrentDeliverSerialisesPerMailbox(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	_, inbox, archive := setup(t, s, 0)
	const workers, each = 4, 10
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				targets := []store.Target{{MailboxID: inbox.ID}, {MailboxID: archive.ID}}
				if w%2 == 1 {
					targets[0], targets[1] = targets[1], targets[0]
				}
				if _, err := s.Deliver(ctx, strings.NewReader(fmt.Sprintf("m %d %d", w, i)), targets); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	for _, mb := range []store.Mailbox{inbox, archive} {
		ms, err := s.ListMessages(ctx, mb.ID, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != workers*each {
			t.Fatalf("%d messages, want %d", len(ms), workers*each)
		}
		seen := map[uint64]bool{}
		for i, m := range ms {
			if m.UID != uint32(i+1) || seen[m.ModSeq] {
				t.Fatalf("message %d: UID %d MODSEQ %d (dup %v)", i, m.UID, m.ModSeq, seen[m.ModSeq])
			}
			seen[m.ModSeq] = true
		}
		got, err := s.GetMailboxByID(ctx, mb.ID)
		if err != nil || got.UIDNext != workers*each+1 || got.Messages != workers*each || got.HighestModSeq != workers*each {
			t.Fatalf("mailbox = %+v, %v", got, err)
		}
	}
}

func TestClaimsAcrossNodes(t *testing.T) {
	dsn := freshDatabase(t)
	nodes := []*Store{openAt(t, dsn), openAt(t, dsn)}
	ctx := context.Background()
	const items = 20
	for i := range items {
		if _, err := nodes[0].Enqueue(ctx, strings.NewReader("body"), store.NewQueueItem{From: "a@example.org",
			Recipients: []store.NewQueueRecipient{{Address: fmt.Sprintf("r%d@example.net", i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().Add(time.Second)
	claimed := make([][]store.QueueItem, 4)
	var wg sync.WaitGroup
	for w := range claimed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range items {
				got, err := nodes[w%2].ClaimDue(ctx, fmt.Sprintf("w%d", w), now, time.Minute, 2)
				if err != nil {
					t.Error(err)
					return
				}
				claimed[w] = append(claimed[w], got...)
			}
		}()
	}
	wg.Wait()
	owner := map[int64]string{}
	token := map[int64]string{}
	for w, got := range claimed {
		for _, q := range got {
			if prev, ok := owner[q.ID]; ok {
				t.Fatalf("item %d claimed by %s and w%d", q.ID, prev, w)
			}
			owner[q.ID], token[q.ID] = q.ClaimedBy, q.ClaimToken
			if q.State != store.QueueDelivery || q.Attempts != 1 {
				t.Fatalf("claimed item %+v", q)
			}
		}
	}
	if len(owner) != items {
		t.Fatalf("%d items claimed, want %d", len(owner), items)
	}
	// Before the lease runs out nothing is claimable; after, everything is.
	if got, err := nodes[1].ClaimDue(ctx, "late", now.Add(30*time.Second), time.Minute, items); err != nil || len(got) != 0 {
		t.Fatalf("claim during lease = %d items, %v", len(got), err)
	}
	got, err := nodes[1].ClaimDue(ctx, "late", now.Add(2*time.Minute), time.Minute, items)
	if err != nil || len(got) != items {
		t.Fatalf("claim after lease = %d items, %v", len(got), err)
	}
	// The first worker lost its claim and may not finish.
	err = nodes[0].FinishAttempt(ctx, store.QueueUpdate{ID: got[0].ID, ClaimToken: token[got[0].ID],
		Recipients: []store.QueueRecipient{{Address: "x", Done: true}}})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("FinishAttempt by a worker whose claim expired: %v", err)
	}
	for _, q := range got {
		rs := []store.QueueRecipient{{Address: q.Recipients[0].Address, Done: true}}
		if err := nodes[1].FinishAttempt(ctx, store.QueueUpdate{ID: q.ID, ClaimToken: q.ClaimToken, Recipients: rs}); err != nil {
			t.Fatal(err)
		}
	}
	if n := countRows(t, nodes[0], "queue") + countRows(t, nodes[0], "blobs"); n != 0 {
		t.Fatalf("%d queue and blob rows left after every item finished", n)
	}
}

// TestBytewiseOrderUnderLocale runs on a database whose default collation
// sorts like English text ("a-c" after "ab", "B" between "a" and "c") and
// checks that names still list bytewise, as in the embedded backend.
func TestBytewiseOrderUnderLocale(t *testing.T) {
	testDSN(t)
	dsn := freshDatabaseWith(t, "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8' TEMPLATE template0")
	s := openAt(t, dsn)
	ctx := context.Background()
	var localeOrder bool
	if err := s.pool.QueryRow(ctx, "SELECT 'a' < 'B'").Scan(&localeOrder); err != nil {
		t.Fatal(err)
	}
	if !localeOrder {
		t.Fatal("test database does not sort by locale; the test would prove nothing")
	}
	for _, d := range []string{"b.test", "B.test", "a-c.test", "ab.test"} {
		if _, err := s.CreateDomain(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	var accounts []store.Account
	for _, a := range []string{"b@ab.test", "B@ab.test", "a-c@ab.test", "ab@ab.test"} {
		acct, err := s.CreateAccount(ctx, store.NewAccount{Address: a})
		if err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, acct)
	}
	for _, a := range []string{"y@ab.test", "Y@ab.test", "x-z@ab.test", "xy@ab.test"} {
		if _, err := s.CreateAlias(ctx, a, []string{"b@ab.test"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []string{"b", "B", "a-c", "ab", "a/x", "a x"} {
		if _, err := s.CreateMailbox(ctx, accounts[0].ID, store.NewMailbox{Name: m}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, got []string, want ...string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	ds, err := s.ListDomains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check("ListDomains", mapNames(ds, func(d store.Domain) string { return d.Name }), "B.test", "a-c.test", "ab.test", "b.test")
	as, err := s.ListAccounts(ctx, "ab.test")
	if err != nil {
		t.Fatal(err)
	}
	check("ListAccounts", mapNames(as, func(a store.Account) string { return a.Address }), "B@ab.test", "a-c@ab.test", "ab@ab.test", "b@ab.test")
	als, err := s.ListAliases(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	check("ListAliases", mapNames(als, func(a store.Alias) string { return a.Address }), "Y@ab.test", "x-z@ab.test", "xy@ab.test", "y@ab.test")
	mbs, err := s.ListMailboxes(ctx, accounts[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	check("ListMailboxes", mapNames(mbs, func(m store.Mailbox) string { return m.Name }), "B", "a x", "a-c", "a/x", "ab", "b")
}

func mapNames[T any](xs []T, name func(T) string) []string {
	var out []string
	for _, x := range xs {
		out = append(out, name(x))
	}
	return out
}

// TestQueueUpgradeDefaults: an item queued under schema version 2 reads
// back after the upgrade with the delivery parameters' defaults, its
// recipients' states kept.
func TestQueueUpgradeDefaults(t *testing.T) {
	dsn := freshDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ms, err := migrations()
	if err != nil || len(ms) < 3 {
		t.Fatalf("migrations = %+v, %v", ms, err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{"CREATE TABLE schema_version (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())"}
	for _, m := range ms[:2] {
		stmts = append(stmts, m.sql, fmt.Sprintf("INSERT INTO schema_version (version) VALUES (%d)", m.version))
	}
	stmts = append(stmts, "INSERT INTO blobs (size, data) VALUES (4, 'body')",
		`INSERT INTO queue (sender, recipients, blob_id, size, state, next_attempt, created, require_tls)
		SELECT 'a@b.test', '[{"address":"r@x.test","last_error":"451 later"},{"address":"s@x.test","done":true}]',
			id, 4, 'ready', now(), now(), true FROM blobs`)
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn.Close(ctx)

	s := openAt(t, dsn)
	if v, err := s.SchemaVersion(ctx); err != nil || v != ms[len(ms)-1].version {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, ms[len(ms)-1].version)
	}
	list, err := s.ListQueue(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListQueue = %+v, %v", list, err)
	}
	it := list[0]
	if it.From != "a@b.test" || !it.RequireTLS || it.SMTPUTF8 || it.BodyType != "" || it.EnvID != "" || it.Ret != "" ||
		it.Submitter != 0 || it.DelayWarned {
		t.Errorf("upgraded item = %+v, want the defaults", it)
	}
	want := []store.QueueRecipient{{Address: "r@x.test", LastError: "451 later"}, {Address: "s@x.test", Done: true}}
	if !slices.Equal(it.Recipients, want) {
		t.Errorf("upgraded recipients = %+v, want %+v", it.Recipients, want)
	}
}

// TestTrigramIndexes checks that the migration installed pg_trgm and the
// text index's GIN indexes, and that a search of a long string can use
// them rather than read every text.
func TestTrigramIndexes(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes
		WHERE tablename = 'text_docs' AND indexname IN ('text_docs_header', 'text_docs_body')`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("trigram indexes: %d of 2 (%v)", n, err)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, "EXPLAIN SELECT blob_id FROM text_docs d WHERE $1::bigint > 0 AND "+textColumns[store.TextAll], int64(1), "%budget%")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(plan, "\n"), "text_docs_body") {
		t.Errorf("plan does not use the trigram index:\n%s", strings.Join(plan, "\n"))
	}
}

// TestCountFlagsUsesIndexes: the unseen and deleted counts can come from
// the partial indexes rather than from every message of the mailbox.
func TestCountFlagsUsesIndexes(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, "EXPLAIN "+countFlagsQuery, int64(1))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(plan, "\n")
	for _, idx := range []string{"messages_unseen", "messages_deleted"} {
		if !strings.Contains(all, idx) {
			t.Errorf("the plan does not use %s:\n%s", idx, all)
		}
	}
}
