package reports

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dmarc"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/store"
)

// memStore keeps in memory what Scheduler and Ingest use of a store, the
// way store.Reports and store.KV document it; the backends themselves are
// held to those documents by package storetest. (A SQLite store here would
// make the fuzz targets' coverage instrumentation too slow to fuzz.)
type memStore struct {
	mu       sync.Mutex
	rows     map[string]*store.ReportRow
	received []store.ReceivedReport
	kv       map[string][]byte
	queued   int64
}

func openStore(t testing.TB) *memStore {
	return &memStore{rows: map[string]*store.ReportRow{}, kv: map[string][]byte{}}
}

func (m *memStore) CountReportRow(ctx context.Context, kind store.ReportKind, day time.Time, domain string, data []byte, n int64) error {
	if err := store.CheckReportRow(kind, domain, data, n); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d := store.ReportDay(day)
	key := fmt.Sprintf("%s\x00%d\x00%s\x00%s", kind, d.Unix(), domain, data)
	if r := m.rows[key]; r != nil {
		r.Count += n
		return nil
	}
	m.rows[key] = &store.ReportRow{Kind: kind, Day: d, Domain: domain, Data: bytes.Clone(data), Count: n}
	return nil
}

func (m *memStore) ReportRows(ctx context.Context, kind store.ReportKind, day time.Time) ([]store.ReportRow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.ReportRow
	for _, r := range m.rows {
		if r.Kind == kind && r.Day.Equal(store.ReportDay(day)) {
			out = append(out, *r)
		}
	}
	slices.SortFunc(out, func(a, b store.ReportRow) int {
		return cmp.Or(cmp.Compare(a.Domain, b.Domain), bytes.Compare(a.Data, b.Data))
	})
	return out, nil
}

func (m *memStore) DeleteReportRows(ctx context.Context, kind store.ReportKind, before time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, r := range m.rows {
		if r.Kind == kind && r.Day.Before(store.ReportDay(before)) {
			delete(m.rows, k)
			n++
		}
	}
	return n, nil
}

func (m *memStore) AddReceivedReport(ctx context.Context, r store.ReceivedReport) (int64, error) {
	if err := store.CheckReceivedReport(r); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.received {
		if o.Kind == r.Kind && o.Org == r.Org && o.ReportID == r.ReportID {
			return 0, fmt.Errorf("report %s: %w", r.ReportID, store.ErrExists)
		}
	}
	r.ID, r.Received = int64(len(m.received)+1), time.Now()
	m.received = append(m.received, r)
	return r.ID, nil
}

func (m *memStore) ListReceivedReports(ctx context.Context, kind store.ReportKind, domain string, since time.Time) ([]store.ReceivedReport, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.ReceivedReport
	for _, r := range m.received {
		if r.Kind == kind && (domain == "" || r.Domain == domain) && r.End.After(since) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b store.ReceivedReport) int { return a.Begin.Compare(b.Begin) })
	return out, nil
}

func (m *memStore) PutValue(ctx context.Context, namespace, key string, value []byte, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kv[namespace+"\x00"+key] = bytes.Clone(value)
	return nil
}

func (m *memStore) GetValue(ctx context.Context, namespace, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.kv[namespace+"\x00"+key]
	if !ok {
		return nil, store.ErrNotFound
	}
	return v, nil
}

func (m *memStore) AddValue(ctx context.Context, namespace, key string, value []byte, expires time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.kv[namespace+"\x00"+key]; ok {
		return false, nil
	}
	m.kv[namespace+"\x00"+key] = bytes.Clone(value)
	return true, nil
}

func (m *memStore) DeleteValue(ctx context.Context, namespace, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.kv, namespace+"\x00"+key)
	return nil
}

func (m *memStore) PruneValues(ctx context.Context, now time.Time) (int64, error) { return 0, nil }

func (m *memStore) Enqueue(ctx context.Context, body io.Reader, item store.NewQueueItem) (store.QueueItem, error) {
	if _, err := io.Copy(io.Discard, body); err != nil {
		return store.QueueItem{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queued++
	return store.QueueItem{ID: m.queued, From: item.From}, nil
}

// day is the UTC day the tests record evaluations on.
var day = time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)

// evaluation returns an evaluation of mail from example.com by ip, all
// passing.
func evaluation(ip string) DMARCEvaluation {
	return DMARCEvaluation{
		Time:         day.Add(10 * time.Hour),
		PolicyDomain: "example.com",
		RUA:          []dmarc.URI{{Address: "mailto:dmarc@example.com"}},
		Policy:       PolicyPublished{Domain: "example.com", ADKIM: "r", ASPF: "r", P: "reject", SP: "reject", Pct: 100, FO: "0"},
		SourceIP:     netip.MustParseAddr(ip),
		HeaderFrom:   "example.com", EnvelopeFrom: "example.com", EnvelopeTo: "example.org",
		Disposition: "none", DKIMAligned: true, SPFAligned: true,
		DKIM: []DKIMAuthResult{{Domain: "example.com", Selector: "s1", Result: "pass"}},
		SPF:  SPFAuthResult{Domain: "example.com", Scope: "mfrom", Result: "pass"},
	}
}

// dnsxTemporary is the error a DNS failure wraps.
var dnsxTemporary = dnsx.ErrTemporary
