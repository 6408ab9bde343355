package queue

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/store"
)

// queuedReports returns the bodies of the messages in the queue.
func queuedReports(t *testing.T, st store.Store) []string {
	t.Helper()
	items, err := st.ListQueue(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range items {
		r, err := st.OpenBody(t.Context(), it.BlobID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		out = append(out, string(b))
	}
	return out
}

// bounce runs one delivery that fails for good, so that the notifier
// queues a report.
func (f *fixture) bounce(t *testing.T, n *DSNNotifier) {
	t.Helper()
	f.q.opts.Notifier = n
	f.transport.outcome["bob@a.example"] = PermFail
	f.enqueue(t, "ann@ours.example", rcpt("bob@a.example"))
	f.clock.Set(time.Now())
	f.runAt(t, 0)
}

// TestDSNSigned: a report is signed through the Sign hook for the domain
// of its From, and the signature verifies against the published key.
func TestDSNSigned(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	rec, err := dkim.KeyRecordText(pub)
	if err != nil {
		t.Fatal(err)
	}
	zone := dnsx.NewZone()
	if err := zone.AddDomain("ours.example"); err != nil {
		t.Fatal(err)
	}
	if err := zone.Add(fmt.Sprintf("sel._domainkey.ours.example. TXT %q\n", rec)); err != nil {
		t.Fatal(err)
	}
	var signedFor []string
	f := newFixture(t)
	f.bounce(t, &DSNNotifier{Store: f.st, Hostname: "mail.ours.example", From: "postmaster@ours.example",
		Sign: func(ctx context.Context, from string, msg []byte) ([]byte, error) {
			signedFor = append(signedFor, from)
			s := &dkim.Signer{Domain: domainOf(from), Selector: "sel", Key: priv}
			field, err := s.Sign(bytes.NewReader(msg))
			return append([]byte(field), msg...), err
		}})
	reports := queuedReports(t, f.st)
	if len(reports) != 1 || len(signedFor) != 1 || signedFor[0] != "postmaster@ours.example" {
		t.Fatalf("%d reports, signed for %q", len(reports), signedFor)
	}
	if !strings.Contains(reports[0], "From: Mail Delivery System <postmaster@ours.example>") {
		t.Errorf("report not from the configured address:\n%s", reports[0])
	}
	v := &dkim.Verifier{Resolver: dnsx.NewStub(zone, nil)}
	res, err := v.Verify(t.Context(), strings.NewReader(reports[0]))
	if err != nil || len(res) != 1 || res[0].Status != dkim.StatusPass || res[0].Domain != "ours.example" {
		t.Errorf("verification %+v, %v", res, err)
	}
	// The signature breaks when the report is changed: the check above
	// is not vacuous.
	tampered := strings.Replace(reports[0], "bob@a.example", "eve@a.example", 1)
	if res, _ := v.Verify(t.Context(), strings.NewReader(tampered)); len(res) != 1 || res[0].Status == dkim.StatusPass {
		t.Errorf("a changed report verifies: %+v", res)
	}
}

// TestDSNUnsignedWithoutKey: a domain without a key gets its reports
// unsigned, said once in the log; any other signing failure keeps the
// recipient pending so that the report is made again.
func TestDSNUnsignedWithoutKey(t *testing.T) {
	var logged bytes.Buffer
	f := newFixture(t)
	calls := 0
	n := &DSNNotifier{Store: f.st, Hostname: "mail.ours.example", Logger: slog.New(slog.NewTextHandler(&logged, nil)),
		Sign: func(ctx context.Context, from string, msg []byte) ([]byte, error) {
			calls++
			return nil, fmt.Errorf("%w: %s", ErrNoSigningKey, domainOf(from))
		}}
	f.bounce(t, n)
	// A second report, made directly: the queue would deliver the first.
	it := store.QueueItem{ID: 99, From: "carl@ours.example", Created: time.Now(),
		Recipients: []store.QueueRecipient{{Address: "dan@a.example"}}}
	err := n.Notify(t.Context(), Notice{Item: it, Kind: NoticeFailed,
		Results: []Result{{Recipient: "dan@a.example", Status: PermFail, Enhanced: "5.1.1", Diagnostic: "no such user"}}})
	if err != nil {
		t.Fatal(err)
	}
	reports := queuedReports(t, f.st)
	if len(reports) != 2 || calls != 2 {
		t.Fatalf("%d reports after %d signing calls, want 2 and 2", len(reports), calls)
	}
	for _, r := range reports {
		if strings.Contains(r, "DKIM-Signature") || !strings.Contains(r, "postmaster@mail.ours.example") {
			t.Errorf("report:\n%s", r)
		}
	}
	if c := strings.Count(logged.String(), "without a DKIM signature"); c != 1 || !strings.Contains(logged.String(), "domain=mail.ours.example") {
		t.Errorf("logged %d times:\n%s", c, logged.String())
	}
}

// TestDSNSigningFailureRetries: a signing failure other than a missing
// key queues nothing and leaves the failed recipient to the next attempt.
func TestDSNSigningFailureRetries(t *testing.T) {
	f := newFixture(t)
	f.bounce(t, &DSNNotifier{Store: f.st, Hostname: "mail.ours.example",
		Sign: func(ctx context.Context, from string, msg []byte) ([]byte, error) {
			return nil, fmt.Errorf("store unavailable")
		}})
	items, err := f.st.ListQueue(t.Context())
	if err != nil || len(items) != 1 || items[0].From != "ann@ours.example" || items[0].Recipients[0].Done {
		t.Fatalf("queue %+v, %v; want the original, its recipient pending", items, err)
	}
}
