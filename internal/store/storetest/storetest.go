// Package storetest is the test suite every store.Store implementation
// must pass, so that the embedded and the PostgreSQL backends cannot drift
// apart.
//
// A backend's test calls:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { ... a new, empty store ... })
//	}
//
//	func TestCrash(t *testing.T) {
//		storetest.Crash(t, storetest.CrashOptions{Fresh: ..., Open: ...})
//	}
//
//	func BenchmarkDeliver4KiB(b *testing.B) { storetest.BenchDeliver(b, openStore(b)) }
//
// Run covers every method of store.Store, including the error cases callers
// decide on (store.ErrNotFound, ErrExists, ErrNotEmpty, ErrQuota,
// ErrInvalid), queue claim tokens and delivery parameters, bytewise name order, the
// CONDSTORE/QRESYNC bookkeeping (RFC 7162: UIDVALIDITY, UIDNEXT, MODSEQ,
// tombstones), the text index of SEARCH, the second credentials of
// accounts (TOTP, recovery codes, app passwords), the expiring values of store.KV,
// the decaying counts of store.Reputation
// and concurrent writers.
// After every subtest it checks the store with CheckConsistent.
//
// Crash re-runs the test binary as a child process that delivers in a loop,
// kills it with SIGKILL at a random moment, reopens the store and checks it:
// consistent, and holding every delivery the child acknowledged.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// Run runs the suite. open is called once per subtest and must return a
// new, empty store, closed by a t.Cleanup it registers.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Domains", testDomains},
		{"Accounts", testAccounts},
		{"Aliases", testAliases},
		{"AddressNamespace", testAddressNamespace},
		{"Mailboxes", testMailboxes},
		{"ClaimRecent", testClaimRecent},
		{"Subscriptions", testSubscriptions},
		{"UIDValidity", testUIDValidity},
		{"Deliver", testDeliver},
		{"DeliverAtomic", testDeliverAtomic},
		{"Quota", testQuota},
		{"ListMessages", testListMessages},
		{"UIDRanges", testUIDRanges},
		{"UpdateFlags", testUpdateFlags},
		{"CopyMoveExpunge", testCopyMoveExpunge},
		{"MoveWithinMailbox", testMoveWithinMailbox},
		{"BodyLifetime", testBodyLifetime},
		{"BigBodies", testBigBodies},
		{"BigBodyMemory", testBigBodyMemory},
		{"Summaries", testSummaries},
		{"DeleteAccount", testDeleteAccount},
		{"DKIMKeys", testDKIMKeys},
		{"TextIndex", testTextIndex},
		{"Queue", testQueue},
		{"QueueClaimConcurrent", testQueueClaimConcurrent},
		{"QueueExpiredClaim", testQueueExpiredClaim},
		{"QueueClaimToken", testQueueClaimToken},
		{"QueueParams", testQueueParams},
		{"QueueRecipientParams", testQueueRecipientParams},
		{"QueueDelayWarned", testQueueDelayWarned},
		{"QueueInvalid", testQueueInvalid},
		{"Log", testLog},
		{"TOTP", testTOTP},
		{"AppPasswords", testAppPasswords},
		{"CredentialsLeaveWithAccount", testCredentialsLeaveWithAccount},
		{"RecoveryAddress", testRecoveryAddress},
		{"OutboundCounts", testOutboundCounts},
		{"Correspondents", testCorrespondents},
		{"OutboundHold", testOutboundHold},
		{"CorrespondentsWrote", testCorrespondentsWrote},
		{"Reputation", testReputation},
		{"ReputationBatch", testReputationBatch},
		{"ReputationInvalid", testReputationInvalid},
		{"ReputationPrune", testReputationPrune},
		{"ReputationConcurrent", testReputationConcurrent},
		{"RecordSendConcurrent", testRecordSendConcurrent},
		{"AllowedNetworks", testAllowedNetworks},
		{"ForwardRules", testForwardRules},
		{"FilterModels", testFilterModels},
		{"KV", testKV},
		{"KVExpiry", testKVExpiry},
		{"KVPrune", testKVPrune},
		{"KVNamespaces", testKVNamespaces},
		{"KVLimits", testKVLimits},
		{"KVConcurrent", testKVConcurrent},
		{"KVAdd", testKVAdd},
		{"ReportRows", testReportRows},
		{"ReceivedReports", testReceivedReports},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ConcurrentDeliverFailures", testConcurrentDeliverFailures},
		{"Ping", testPing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			tc.fn(t, s)
			if !t.Failed() {
				CheckConsistent(t, s)
			}
		})
	}
}

// must pairs a result with its error, so that a call can be checked in
// line: must(s.GetDomain(ctx, name)).get(t).
func must[T any](v T, err error) checked[T] { return checked[T]{v, err} }

type checked[T any] struct {
	v   T
	err error
}

// get fails the test if there was an error and returns the value.
func (c checked[T]) get(t testing.TB) T {
	t.Helper()
	if c.err != nil {
		t.Fatal(c.err)
	}
	return c.v
}

// noErr fails the test on err.
func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr checks that err matches target.
func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// fixture is a domain with two accounts, each with an INBOX, and an
// Archive for the first.
type fixture struct {
	s                    store.Store
	ctx                  context.Context
	alice, bob           store.Account
	inbox, archive, bob1 store.Mailbox
}

func newFixture(t testing.TB, s store.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{s: s, ctx: ctx}
	must(s.CreateDomain(ctx, "example.test")).get(t)
	f.alice = must(s.CreateAccount(ctx, store.NewAccount{
		Address:      "alice@example.test",
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		Mailboxes: []store.NewMailbox{
			{Name: "INBOX", Subscribed: true},
			{Name: "Archive", SpecialUse: `\Archive`, Subscribed: true},
		},
	})).get(t)
	f.bob = must(s.CreateAccount(ctx, store.NewAccount{
		Address:   "bob@example.test",
		Mailboxes: []store.NewMailbox{{Name: "INBOX"}},
	})).get(t)
	f.inbox = must(s.GetMailbox(ctx, f.alice.ID, "INBOX")).get(t)
	f.archive = must(s.GetMailbox(ctx, f.alice.ID, "Archive")).get(t)
	f.bob1 = must(s.GetMailbox(ctx, f.bob.ID, "INBOX")).get(t)
	return f
}

func (f *fixture) deliver(t testing.TB, body string, targets ...store.Target) []store.Message {
	t.Helper()
	return must(f.s.Deliver(f.ctx, strings.NewReader(body), targets)).get(t)
}

func (f *fixture) mailbox(t testing.TB, id int64) store.Mailbox {
	t.Helper()
	return must(f.s.GetMailboxByID(f.ctx, id)).get(t)
}

func (f *fixture) account(t testing.TB, id int64) store.Account {
	t.Helper()
	return must(f.s.GetAccountByID(f.ctx, id)).get(t)
}

func (f *fixture) uids(t testing.TB, mailboxID int64) []uint32 {
	t.Helper()
	var uids []uint32
	for _, m := range must(f.s.ListMessages(f.ctx, mailboxID, 1, 0)).get(t) {
		uids = append(uids, m.UID)
	}
	return uids
}

func readBody(t testing.TB, s store.Store, blobID string) string {
	t.Helper()
	rc := must(s.OpenBody(context.Background(), blobID)).get(t)
	defer rc.Close()
	return string(must(io.ReadAll(rc)).get(t))
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// sameTime compares times at the microsecond precision both backends keep.
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

func recent(t testing.TB, what string, tm time.Time) {
	t.Helper()
	if d := time.Since(tm); d < -time.Minute || d > time.Minute {
		t.Errorf("%s = %v, want about now", what, tm)
	}
}

func names[T any](xs []T, name func(T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, name(x))
	}
	return out
}

func eqStrings(t testing.TB, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func eqUIDs(t testing.TB, what string, got, want []uint32) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func describe(m store.Message) string {
	return fmt.Sprintf("mailbox %d uid %d", m.MailboxID, m.UID)
}
