package storetest

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// testReportRows covers the counting of report rows: identical rows of a
// kind, domain and UTC day add up, any difference makes a new row, rows
// come back by domain then data, the limits refuse bad rows, concurrent
// counting loses nothing, and old days are deleted.
func testReportRows(t *testing.T, s store.Store) {
	ctx := t.Context()
	day := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	count := func(kind store.ReportKind, at time.Time, domain, data string, n int64) {
		t.Helper()
		noErr(t, s.CountReportRow(ctx, kind, at, domain, []byte(data), n))
	}
	count(store.ReportDMARC, day.Add(time.Hour), "b.example", "row 1", 1)
	count(store.ReportDMARC, day.Add(23*time.Hour), "b.example", "row 1", 2) // same UTC day
	count(store.ReportDMARC, day.Add(5*time.Hour).In(time.FixedZone("x", -10*3600)), "b.example", "row 1", 1)
	count(store.ReportDMARC, day, "b.example", "row 2", 1)
	count(store.ReportDMARC, day, "a.example", "row 1", 1)
	count(store.ReportDMARC, day.Add(-time.Second), "b.example", "row 1", 7) // the day before
	count(store.ReportTLS, day, "b.example", "row 1", 3)
	// A long row: longer than an index entry may be.
	long := strings.Repeat("x", store.MaxValueLen)
	count(store.ReportDMARC, day, "c.example", long, 1)
	count(store.ReportDMARC, day, "c.example", long[:len(long)-1]+"y", 1)

	got := must(s.ReportRows(ctx, store.ReportDMARC, day.Add(12*time.Hour))).get(t)
	want := []store.ReportRow{
		row(store.ReportDMARC, "a.example", []byte("row 1"), 1),
		row(store.ReportDMARC, "b.example", []byte("row 1"), 4),
		row(store.ReportDMARC, "b.example", []byte("row 2"), 1),
		row(store.ReportDMARC, "c.example", []byte(long), 1),
		row(store.ReportDMARC, "c.example", []byte(long[:len(long)-1]+"y"), 1),
	}
	if d := diffRows(got, want); d != "" {
		t.Errorf("DMARC rows of the day: %s", d)
	}
	got = must(s.ReportRows(ctx, store.ReportTLS, day)).get(t)
	if d := diffRows(got, []store.ReportRow{row(store.ReportTLS, "b.example", []byte("row 1"), 3)}); d != "" {
		t.Errorf("TLS rows: %s", d)
	}
	if got := must(s.ReportRows(ctx, store.ReportDMARC, day.Add(48*time.Hour))).get(t); len(got) != 0 {
		t.Errorf("rows of a day without any: %d", len(got))
	}

	for _, bad := range []struct {
		name   string
		kind   store.ReportKind
		domain string
		data   []byte
		n      int64
	}{
		{"unknown kind", "arf", "a.example", []byte("r"), 1},
		{"empty domain", store.ReportDMARC, "", []byte("r"), 1},
		{"NUL in domain", store.ReportDMARC, "a\x00b", []byte("r"), 1},
		{"empty row", store.ReportDMARC, "a.example", nil, 1},
		{"row too long", store.ReportDMARC, "a.example", make([]byte, store.MaxValueLen+1), 1},
		{"zero count", store.ReportDMARC, "a.example", []byte("r"), 0},
	} {
		wantErr(t, bad.name, s.CountReportRow(ctx, bad.kind, day, bad.domain, bad.data, bad.n), store.ErrInvalid)
	}

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if err := s.CountReportRow(ctx, store.ReportDMARC, day, "d.example", []byte("busy"), 1); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, r := range must(s.ReportRows(ctx, store.ReportDMARC, day)).get(t) {
		if r.Domain == "d.example" && r.Count != 80 {
			t.Errorf("concurrent counting: %d, want 80", r.Count)
		}
	}

	if n := must(s.DeleteReportRows(ctx, store.ReportDMARC, day.Add(time.Hour))).get(t); n != 1 {
		t.Errorf("deleted %d rows before the day, want 1 (the day before)", n)
	}
	if n := len(must(s.ReportRows(ctx, store.ReportDMARC, day)).get(t)); n != 6 {
		t.Errorf("%d rows left on the day, want 6", n)
	}
	if n := must(s.DeleteReportRows(ctx, store.ReportDMARC, day.Add(24*time.Hour))).get(t); n != 6 {
		t.Errorf("deleted %d rows of the day, want 6", n)
	}
	if n := len(must(s.ReportRows(ctx, store.ReportTLS, day)).get(t)); n != 1 {
		t.Errorf("deleting DMARC rows left %d TLS rows, want 1", n)
	}
}

func row(kind store.ReportKind, domain string, data []byte, n int64) store.ReportRow {
	return store.ReportRow{Kind: kind, Day: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), Domain: domain, Data: data, Count: n}
}

func diffRows(got, want []store.ReportRow) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d rows, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Kind != w.Kind || !g.Day.Equal(w.Day) || g.Domain != w.Domain || !bytes.Equal(g.Data, w.Data) || g.Count != w.Count {
			return fmt.Sprintf("row %d: %s %v %s %.20q %d, want %s %v %s %.20q %d", i,
				g.Kind, g.Day, g.Domain, g.Data, g.Count, w.Kind, w.Day, w.Domain, w.Data, w.Count)
		}
	}
	return ""
}

// testReceivedReports covers the reports received: stored and listed by
// kind, domain and period, a report sent again refused with ErrExists,
// and bad ones refused with ErrInvalid.
func testReceivedReports(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	rep := func(kind store.ReportKind, domain, org, id string, begin time.Time) store.ReceivedReport {
		return store.ReceivedReport{Kind: kind, Domain: domain, Org: org, ReportID: id, Begin: begin,
			End: begin.Add(24*time.Hour - time.Second), Data: []byte("<feedback>" + id + "</feedback>")}
	}
	before := time.Now().Add(-time.Second)
	add := func(r store.ReceivedReport) int64 { t.Helper(); return must(s.AddReceivedReport(ctx, r)).get(t) }
	id1 := add(rep(store.ReportDMARC, "a.example", "google.com", "r1", t0.Add(24*time.Hour)))
	id2 := add(rep(store.ReportDMARC, "a.example", "yahoo.com", "r1", t0)) // another org may reuse an ID
	id3 := add(rep(store.ReportDMARC, "b.example", "google.com", "r2", t0))
	add(rep(store.ReportTLS, "a.example", "google.com", "r1", t0)) // another kind too
	if id1 == id2 || id2 == id3 || id1 == 0 {
		t.Errorf("IDs %d %d %d", id1, id2, id3)
	}
	_, err := s.AddReceivedReport(ctx, rep(store.ReportDMARC, "a.example", "google.com", "r1", t0))
	wantErr(t, "the same report again", err, store.ErrExists)
	for _, bad := range []store.ReceivedReport{
		rep("arf", "a.example", "o", "x", t0),
		rep(store.ReportDMARC, "", "o", "x", t0),
		rep(store.ReportDMARC, "a.example", "", "x", t0),
		rep(store.ReportDMARC, "a.example", "o", "", t0),
		rep(store.ReportDMARC, "a.example", "o", "x\xff", t0),
		{Kind: store.ReportDMARC, Domain: "a.example", Org: "o", ReportID: "big", Data: make([]byte, store.MaxReportLen+1)},
	} {
		_, err := s.AddReceivedReport(ctx, bad)
		wantErr(t, fmt.Sprintf("bad report %q %q %q %q", bad.Kind, bad.Domain, bad.Org, bad.ReportID), err, store.ErrInvalid)
	}

	ids := func(rs []store.ReceivedReport) []int64 {
		var out []int64
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	tests := []struct {
		name   string
		kind   store.ReportKind
		domain string
		since  time.Time
		want   []int64
	}{
		{"every domain by begin", store.ReportDMARC, "", time.Time{}, []int64{id2, id3, id1}},
		{"one domain", store.ReportDMARC, "a.example", time.Time{}, []int64{id2, id1}},
		{"recent only", store.ReportDMARC, "a.example", t0.Add(24 * time.Hour), []int64{id1}},
		{"unknown domain", store.ReportDMARC, "c.example", time.Time{}, nil},
	}
	for _, tc := range tests {
		got := ids(must(s.ListReceivedReports(ctx, tc.kind, tc.domain, tc.since)).get(t))
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	all := must(s.ListReceivedReports(ctx, store.ReportTLS, "", time.Time{})).get(t)
	if len(all) != 1 {
		t.Fatalf("TLS reports: %d, want 1", len(all))
	}
	r := all[0]
	if r.Kind != store.ReportTLS || r.Domain != "a.example" || r.Org != "google.com" || r.ReportID != "r1" ||
		!r.Begin.Equal(t0) || !r.End.Equal(t0.Add(24*time.Hour-time.Second)) || string(r.Data) != "<feedback>r1</feedback>" ||
		r.Received.Before(before) || r.Received.After(time.Now().Add(time.Second)) {
		t.Errorf("TLS report read back: %+v", r)
	}
}
