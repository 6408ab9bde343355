package storeint

import (
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dmarc"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
	"sealpost.dev/sealpost/internal/reports"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/postgres"
	"sealpost.dev/sealpost/internal/store/sqlite"
	"sealpost.dev/sealpost/internal/store/storetest"
)

// backend opens the same store again and again, as a restart would.
type backend struct {
	name string
	open func(t *testing.T) store.Store
}

func backends(t *testing.T) []backend {
	dir := t.TempDir()
	bs := []backend{{"sqlite", func(t *testing.T) store.Store {
		st, err := sqlite.Open(t.Context(), dir, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}}}
	if dsn := os.Getenv("SEALPOST_TEST_POSTGRES"); dsn != "" {
		db := storetest.PostgresDatabase(t, dsn, "")
		bs = append(bs, backend{"postgres", func(t *testing.T) store.Store {
			st, err := postgres.Open(t.Context(), db, postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return st
		}})
	} else if os.Getenv("SEALPOST_REQUIRE_POSTGRES") != "" {
		t.Fatal("SEALPOST_TEST_POSTGRES not set, and SEALPOST_REQUIRE_POSTGRES says PostgreSQL tests must run")
	}
	return bs
}

func TestSendSurvivesRestart(t *testing.T) {
	srv := dnstest.Start(t, `example.com._report._dmarc.vendor.example. TXT "v=DMARC1"`)
	res, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			st := b.open(t)
			rec := &reports.DMARCRecorder{Store: st}
			for _, ip := range []string{"192.0.2.1", "192.0.2.1", "198.51.100.7"} {
				err := rec.Record(ctx, reports.DMARCEvaluation{
					Time: day.Add(time.Hour), PolicyDomain: "example.com",
					RUA:      []dmarc.URI{{Address: "mailto:dmarc@example.com"}, {Address: "mailto:agg@vendor.example"}},
					Policy:   reports.PolicyPublished{Domain: "example.com", P: "reject", SP: "reject", Pct: 100, FO: "0"},
					SourceIP: netip.MustParseAddr(ip), HeaderFrom: "example.com", EnvelopeFrom: "example.com",
					Disposition: "none", DKIMAligned: true, SPFAligned: true,
					SPF: reports.SPFAuthResult{Domain: "example.com", Scope: "mfrom", Result: "pass"},
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			sched := func(st store.Store) *reports.Scheduler {
				return &reports.Scheduler{Store: st, Resolver: res, OrgName: "mail.example.org", Address: "reports@example.org",
					Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			}
			now := day.Add(26 * time.Hour)
			sent, err := sched(st).SendDue(ctx, now)
			if err != nil || len(sent) != 1 {
				t.Fatalf("SendDue: %+v, %v", sent, err)
			}
			items, err := st.ListQueue(ctx)
			if err != nil || len(items) != 1 {
				t.Fatalf("queue: %d items, %v", len(items), err)
			}
			it := items[0]
			if it.From != "reports@example.org" || len(it.Recipients) != 2 || it.Recipients[0].Address != "dmarc@example.com" ||
				it.Recipients[1].Address != "agg@vendor.example" {
				t.Errorf("queued %+v", it)
			}
			body, err := st.OpenBody(ctx, it.BlobID)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(body)
			body.Close()
			if !strings.Contains(string(msg), "Subject: Report Domain: example.com Submitter: mail.example.org Report-ID: <") {
				t.Errorf("queued message:\n%.400s", msg)
			}

			// The queued mail, received back, is a report Ingest reads.
			in, err := reports.Ingest(ctx, st, strings.NewReader(string(msg)))
			if err != nil || in.Domain != "example.com" || in.Org != "mail.example.org" {
				t.Errorf("ingesting our own report: %+v, %v", in, err)
			}
			st.Close()

			st = b.open(t)
			defer st.Close()
			if sent, err := sched(st).SendDue(ctx, now.Add(time.Hour)); err != nil || len(sent) != 0 {
				t.Errorf("after a restart: %+v, %v", sent, err)
			}
			if items, _ := st.ListQueue(ctx); len(items) != 1 {
				t.Errorf("after a restart the queue has %d items", len(items))
			}
			list, err := st.ListReceivedReports(ctx, store.ReportDMARC, "example.com", time.Time{})
			if err != nil || len(list) != 1 {
				t.Errorf("received reports after a restart: %d, %v", len(list), err)
			}
		})
	}
}
