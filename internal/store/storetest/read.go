package storetest

import (
	"context"
	"io"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

// MailboxBodies returns the bodies of the messages in one mailbox of an
// account, in UID order: what tests of the protocols look at to see what
// was delivered.
func MailboxBodies(t testing.TB, s store.Store, address, mailbox string) []string {
	t.Helper()
	ctx := context.Background()
	acct, err := s.GetAccount(ctx, address)
	if err != nil {
		t.Fatalf("account %s: %v", address, err)
	}
	mb, err := s.GetMailbox(ctx, acct.ID, mailbox)
	if err != nil {
		t.Fatalf("mailbox %s of %s: %v", mailbox, address, err)
	}
	msgs, err := s.ListMessages(ctx, mb.ID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	bodies := make([]string, 0, len(msgs))
	for _, m := range msgs {
		r, err := s.OpenBody(ctx, m.BlobID)
		if err != nil {
			t.Fatalf("body of UID %d: %v", m.UID, err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, string(b))
	}
	return bodies
}
