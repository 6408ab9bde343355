package reports

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dmarc"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
	"sealpost.dev/sealpost/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// queueSpy passes everything to the store and keeps what was enqueued.
type queueSpy struct {
	Store
	items  []store.NewQueueItem
	bodies [][]byte
}

func (q *queueSpy) Enqueue(ctx context.Context, body io.Reader, item store.NewQueueItem) (store.QueueItem, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return store.QueueItem{}, err
	}
	q.items, q.bodies = append(q.items, item), append(q.bodies, b)
	return q.Store.Enqueue(ctx, bytes.NewReader(b), item)
}

func resolver(t *testing.T, zone string) dnsx.Resolver {
	t.Helper()
	srv := dnstest.Start(t, zone)
	c, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func scheduler(st Store, r dnsx.Resolver) *Scheduler {
	return &Scheduler{Store: st, Resolver: r, OrgName: "mail.example.org", Address: "dmarc-reports@example.org",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, got)
	}
}

// attachment returns the decompressed report of a report mail, checking
// the parts RFC 7489 section 7.2.1.1 asks for.
func attachment(t *testing.T, msg []byte) (filename string, doc []byte) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types = append(types, ct)
		if ct == "text/plain" {
			continue
		}
		filename = p.FileName()
		zr, err := gzip.NewReader(base64.NewDecoder(base64.StdEncoding, p))
		if err != nil {
			t.Fatal(err)
		}
		if doc, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	if len(types) != 2 || types[0] != "text/plain" {
		t.Errorf("parts %v, want text/plain and the report", types)
	}
	return filename, doc
}

func TestSendDMARCGolden(t *testing.T) {
	st := openStore(t)
	ctx := t.Context()
	rec := &DMARCRecorder{Store: st}
	failing := evaluation("198.51.100.7")
	failing.HeaderFrom, failing.EnvelopeFrom, failing.Disposition = "example.com", "spammer.example", "reject"
	failing.DKIMAligned, failing.SPFAligned = false, false
	failing.DKIM = nil
	failing.SPF = SPFAuthResult{Domain: "spammer.example", Scope: "mfrom", Result: "softfail"}
	sampled := evaluation("203.0.113.5")
	sampled.DKIMAligned, sampled.SPFAligned, sampled.Disposition = false, false, "quarantine"
	sampled.Reasons = []PolicyReason{{Type: "sampled_out"}}
	sampled.DKIM = []DKIMAuthResult{{Domain: "example.com", Selector: "s1", Result: "fail", HumanResult: "body hash did not verify"}}
	sampled.SPF.Result = "fail"
	for _, ev := range []DMARCEvaluation{evaluation("192.0.2.1"), evaluation("192.0.2.1"), evaluation("2001:db8::25"), failing, sampled} {
		if err := rec.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	spy := &queueSpy{Store: st}
	now := day.Add(24*time.Hour + 30*time.Minute)
	sent, err := scheduler(spy, resolver(t, "")).SendDue(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != 1 || len(spy.bodies) != 1 {
		t.Fatalf("sent %+v", sent)
	}
	if s := sent[0]; s.Domain != "example.com" || !s.Day.Equal(day) || s.ReportID != "20261121.0851a0c96c65" || !slices.Equal(s.To, []string{"dmarc@example.com"}) {
		t.Errorf("sent %+v", s)
	}
	it := spy.items[0]
	if it.From != "dmarc-reports@example.org" || len(it.Recipients) != 1 || it.Recipients[0].Address != "dmarc@example.com" ||
		it.Recipients[0].Notify != store.NotifyNever {
		t.Errorf("queue item %+v", it)
	}
	golden(t, "example.com.eml", spy.bodies[0])
	name, doc := attachment(t, spy.bodies[0])
	if want := "mail.example.org!example.com!1795219200!1795305599.xml.gz"; name != want {
		t.Errorf("file name %q, want %q", name, want)
	}
	golden(t, "example.com.xml", doc)
	if err := checkFeedbackSchema(doc); err != nil {
		t.Errorf("report departs from the schema: %v", err)
	}

	// Sent once: again, and after a restart (a new Scheduler), nothing.
	for range 2 {
		if sent, err := scheduler(spy, resolver(t, "")).SendDue(ctx, now.Add(time.Hour)); err != nil || len(sent) != 0 {
			t.Errorf("second SendDue: %+v, %v", sent, err)
		}
	}
	if len(spy.bodies) != 1 {
		t.Errorf("%d reports enqueued, want 1", len(spy.bodies))
	}
	// Rows older than the days looked back are deleted.
	if _, err := scheduler(spy, resolver(t, "")).SendDue(ctx, now.Add(3*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if rows, _ := st.ReportRows(ctx, store.ReportDMARC, day); len(rows) != 0 {
		t.Errorf("%d rows left of a day past the window", len(rows))
	}
}

func TestSendDMARCDestinations(t *testing.T) {
	zone := `
example.com._report._dmarc.vendor.example. TXT "v=DMARC1"
example.com._report._dmarc.wrong.example. TXT "v=spf1 -all"
$SERVFAIL example.com._report._dmarc.flaky.example.
`
	tests := []struct {
		name string
		rua  []dmarc.URI
		want []string // recipients; nil: nothing enqueued
		sent bool     // marked as sent (false: postponed)
	}{
		{"same organizational domain", []dmarc.URI{{Address: "mailto:agg@reports.example.com"}}, []string{"agg@reports.example.com"}, true},
		{"external, authorized", []dmarc.URI{{Address: "mailto:r@vendor.example"}}, []string{"r@vendor.example"}, true},
		{"external, no record", []dmarc.URI{{Address: "mailto:r@other.example"}}, nil, true},
		{"external, not a DMARC record", []dmarc.URI{{Address: "mailto:r@wrong.example"}}, nil, true},
		{"mixed", []dmarc.URI{{Address: "mailto:a@example.com"}, {Address: "mailto:r@other.example"}, {Address: "mailto:r@vendor.example"}},
			[]string{"a@example.com", "r@vendor.example"}, true},
		{"size limit", []dmarc.URI{{Address: "mailto:small@example.com", MaxSize: 100}, {Address: "mailto:big@example.com", MaxSize: 10 << 20}},
			[]string{"big@example.com"}, true},
		{"https only", []dmarc.URI{{Address: "https://example.com/dmarc"}}, nil, true},
		{"address with a query", []dmarc.URI{{Address: "mailto:q@example.com?subject=dmarc"}}, []string{"q@example.com"}, true},
		{"DNS failure postpones", []dmarc.URI{{Address: "mailto:a@example.com"}, {Address: "mailto:r@flaky.example"}}, nil, false},
	}
	r := resolver(t, zone)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			ev := evaluation("192.0.2.1")
			ev.RUA = tc.rua
			if err := (&DMARCRecorder{Store: st}).Record(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
			spy := &queueSpy{Store: st}
			now := day.Add(30 * time.Hour)
			if _, err := scheduler(spy, r).SendDue(t.Context(), now); err != nil {
				t.Fatal(err)
			}
			var got []string
			if len(spy.items) > 1 {
				t.Fatalf("%d items enqueued", len(spy.items))
			}
			for _, it := range spy.items {
				for _, rc := range it.Recipients {
					got = append(got, rc.Address)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("recipients %v, want %v", got, tc.want)
			}
			_, err := st.GetValue(t.Context(), sentNamespace, "dmarc/2026-11-21/example.com")
			if sent := err == nil; sent != tc.sent {
				t.Errorf("marked sent: %v (%v), want %v", sent, err, tc.sent)
			}
		})
	}
}

// TestSendSigned: with Sign set, the report goes with its signature on
// top; a signing failure sends nothing and leaves the report to send
// later.
func TestSendSigned(t *testing.T) {
	st := openStore(t)
	ctx := t.Context()
	if err := (&DMARCRecorder{Store: st}).Record(ctx, evaluation("192.0.2.1")); err != nil {
		t.Fatal(err)
	}
	spy := &queueSpy{Store: st}
	now := day.Add(24*time.Hour + 30*time.Minute)
	s := scheduler(spy, resolver(t, ""))
	s.Sign = func(ctx context.Context, msg []byte) (string, error) { return "", errors.New("no key") }
	if sent, err := s.SendDue(ctx, now); err == nil || len(sent) != 0 || len(spy.bodies) != 0 {
		t.Fatalf("with a failing signer: sent %+v, %v, %d enqueued", sent, err, len(spy.bodies))
	}
	var signed []byte
	s.Sign = func(ctx context.Context, msg []byte) (string, error) {
		signed = msg
		return "DKIM-Signature: v=1; d=example.org\r\n", nil
	}
	if sent, err := s.SendDue(ctx, now); err != nil || len(sent) != 1 || len(spy.bodies) != 1 {
		t.Fatalf("sent %+v, %v, %d enqueued", sent, err, len(spy.bodies))
	}
	if !bytes.Equal(spy.bodies[0], append([]byte("DKIM-Signature: v=1; d=example.org\r\n"), signed...)) {
		t.Errorf("enqueued %q", spy.bodies[0])
	}
}

// TestSendOnceAcrossNodes: two schedulers sharing a store, as two nodes
// sharing a database, sending at the same moment, send each report once
// between them, and each is marked sent with its ID, not left claimed.
func TestSendOnceAcrossNodes(t *testing.T) {
	st := openStore(t)
	ctx := t.Context()
	domains := []string{"a.example", "b.example", "c.example", "d.example", "e.example", "f.example"}
	for _, d := range domains {
		ev := evaluation("192.0.2.1")
		ev.PolicyDomain, ev.HeaderFrom, ev.Policy.Domain = d, d, d
		ev.RUA = []dmarc.URI{{Address: "mailto:dmarc@" + d}}
		if err := (&DMARCRecorder{Store: st}).Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	now := day.Add(30 * time.Hour)
	r := resolver(t, "")
	type result struct {
		sent []Sent
		err  error
	}
	results := make(chan result, 2)
	for range 2 {
		go func() {
			sent, err := scheduler(st, r).SendDue(ctx, now)
			results <- result{sent, err}
		}()
	}
	var sentTo []string
	for range 2 {
		res := <-results
		if res.err != nil {
			t.Fatal(res.err)
		}
		for _, s := range res.sent {
			sentTo = append(sentTo, s.Domain)
		}
	}
	slices.Sort(sentTo)
	if !slices.Equal(sentTo, domains) {
		t.Errorf("sent for %v, want each of %v once", sentTo, domains)
	}
	if st.queued != int64(len(domains)) {
		t.Errorf("%d reports enqueued, want %d", st.queued, len(domains))
	}
	for _, d := range domains {
		if v, err := st.GetValue(ctx, sentNamespace, "dmarc/2026-11-21/"+d); err != nil || string(v) == claimValue {
			t.Errorf("%s: marked %q, %v; want the report's ID", d, v, err)
		}
	}
}
