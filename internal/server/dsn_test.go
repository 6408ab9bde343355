package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/queue"
	"sealpost.dev/sealpost/internal/store"
)

// publishDKIM adds the TXT records of domain's keys to zone, as `sealpost
// dns` prints them, in strings of at most 200 characters.
func publishDKIM(t *testing.T, srv *Server, zone *dnsx.Zone, domain string) {
	t.Helper()
	keys, err := srv.accounts.DKIMKeys(t.Context(), domain)
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys of %s: %v, %v", domain, keys, err)
	}
	if err := zone.AddDomain(domain); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		rec, err := account.DKIMRecord(k)
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for s := rec; len(s) > 0; s = s[min(len(s), 200):] {
			parts = append(parts, fmt.Sprintf("%q", s[:min(len(s), 200)]))
		}
		if err := zone.Add(fmt.Sprintf("%s TXT %s\n", dkim.KeyName(k.Selector, domain), strings.Join(parts, " "))); err != nil {
			t.Fatal(err)
		}
	}
}

// reportOf makes the server's notifier report a failed recipient and
// returns the report queued.
func reportOf(t *testing.T, srv *Server, n *queue.DSNNotifier) string {
	t.Helper()
	before, _ := srv.Store().ListQueue(t.Context())
	it := store.QueueItem{ID: 1, From: "ann@example.org", Created: time.Now(),
		Recipients: []store.QueueRecipient{{Address: "bob@remote.example"}}}
	err := n.Notify(t.Context(), queue.Notice{Item: it, Kind: queue.NoticeFailed,
		Results: []queue.Result{{Recipient: "bob@remote.example", Status: queue.PermFail, Enhanced: "5.1.1",
			Diagnostic: "550 5.1.1 no such user", RemoteMTA: "mx.remote.example"}},
		Open: func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("From: ann@example.org\r\nSubject: hi\r\n\r\nhello\r\n")), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	items, err := srv.Store().ListQueue(t.Context())
	if err != nil || len(items) != len(before)+1 {
		t.Fatalf("queue %+v, %v", items, err)
	}
	r, err := srv.Store().OpenBody(t.Context(), items[len(items)-1].BlobID)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	return string(b)
}

// TestDSNSignedByReportDomain: the delivery reports the server's queue
// makes come from the postmaster of the reporting domain and carry its
// RSA and Ed25519 signatures, which verify against the records `sealpost
// dns` publishes; from a domain without keys they go unsigned.
func TestDSNSignedByReportDomain(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stub := dnsx.NewStub(dnsx.NewZone(), nil)
	srv, err := New(ctx, Options{Config: testConfig(t), Resolver: stub, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.closeAll)
	publishDKIM(t, srv, stub.Zone(), "example.org")

	report := reportOf(t, srv, srv.dsnNotifier())
	if !strings.Contains(report, "From: Mail Delivery System <postmaster@example.org>") {
		t.Errorf("report not from postmaster@example.org:\n%s", report)
	}
	res, err := (&dkim.Verifier{Resolver: stub}).Verify(t.Context(), strings.NewReader(report))
	if err != nil || len(res) != 2 {
		t.Fatalf("verification %+v, %v", res, err)
	}
	for i, want := range []dkim.Algorithm{dkim.RSASHA256, dkim.Ed25519SHA256} {
		if res[i].Status != dkim.StatusPass || res[i].Domain != "example.org" || res[i].Algorithm != want {
			t.Errorf("signature %d: %+v, want a pass by example.org with %s", i, res[i], want)
		}
	}

	n := srv.dsnNotifier()
	n.From = "postmaster@unhosted.example"
	if report := reportOf(t, srv, n); strings.Contains(report, "DKIM-Signature") || !strings.Contains(report, "postmaster@unhosted.example") {
		t.Errorf("report from a domain without keys:\n%s", report)
	}
}
