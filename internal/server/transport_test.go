package server

import (
	"context"
	"io"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/queue"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
	"sealpost.dev/sealpost/internal/store/storetest"
)

// TestLocalDeliveryPerRecipient: queued mail for a hosted domain with one
// unknown recipient fails that recipient alone; the others get the
// message.
func TestLocalDeliveryPerRecipient(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	accts := &account.Service{Store: st, Hasher: account.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}}
	if _, err := accts.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"ann@example.org", "carl@example.org"} {
		if _, err := accts.AddAccount(ctx, a, "a long enough password", 0); err != nil {
			t.Fatal(err)
		}
	}
	rt := &routingTransport{store: st, pipeline: &delivery.Pipeline{Store: st, Accounts: accts}, remote: heldTransport{}}
	const body = "From: x@example.net\r\nSubject: hi\r\n\r\nhello\r\n"
	it := store.QueueItem{ID: 1, From: "x@example.net", Size: int64(len(body)), Recipients: []store.QueueRecipient{
		{Address: "ann@example.org"}, {Address: "nobody@example.org"}, {Address: "carl@example.org"}}}
	got := rt.Deliver(ctx, queue.Request{Item: it, Domain: "example.org", Recipients: it.Recipients,
		Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }})
	want := []string{"ann@example.org delivered 2.0.0", "nobody@example.org failed 5.1.1", "carl@example.org delivered 2.0.0"}
	if len(got) != len(want) {
		t.Fatalf("results %+v", got)
	}
	for i, r := range got {
		if g := r.Recipient + " " + r.Status.String() + " " + r.Enhanced; g != want[i] {
			t.Errorf("result %d: %s (%s), want %s", i, g, r.Diagnostic, want[i])
		}
	}
	for _, a := range []string{"ann@example.org", "carl@example.org"} {
		if msgs := storetest.MailboxBodies(t, st, a, "INBOX"); len(msgs) != 1 || !strings.Contains(msgs[0], "hello") {
			t.Errorf("%s INBOX holds %q", a, msgs)
		}
	}
}
