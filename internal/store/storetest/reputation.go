package storetest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// repT0 is the start of the reputation tests' clock.
var repT0 = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

func sender(name string) store.RepKey { return store.RepKey{Kind: store.RepSender, Name: name} }

// closeCounts compares counts to a relative precision, since the decay
// is computed in floating point by the database.
func closeCounts(got, want store.RepCounts) bool {
	g, w := got, want
	gs := []float64{g.Ham, g.Spam, g.Phish, g.UserHam, g.UserSpam, g.UserPhish}
	ws := []float64{w.Ham, w.Spam, w.Phish, w.UserHam, w.UserSpam, w.UserPhish}
	for i := range gs {
		if math.Abs(gs[i]-ws[i]) > 1e-6*max(1, math.Abs(ws[i])) {
			return false
		}
	}
	return true
}

// testReputation walks one key through upserts, decay, a negative delta
// that would go below zero, and checks that kinds keep keys apart.
func testReputation(t *testing.T, s store.Store) {
	ctx := t.Context()
	h := store.ReputationHalfLife
	steps := []struct {
		at    time.Duration
		delta store.RepCounts
		read  time.Duration // when the counts are read
		want  store.RepCounts
	}{
		{0, store.RepCounts{Spam: 2}, 0, store.RepCounts{Spam: 2}},
		{0, store.RepCounts{Spam: 1, UserHam: 3}, 0, store.RepCounts{Spam: 3, UserHam: 3}},
		// read one half-life later: everything halves; nothing written.
		{0, store.RepCounts{}, h, store.RepCounts{Spam: 1.5, UserHam: 1.5}},
		// written two half-lives after: decays by 4, then adds.
		{2 * h, store.RepCounts{Phish: 1, UserSpam: 5}, 2 * h, store.RepCounts{Spam: 0.75, Phish: 1, UserHam: 0.75, UserSpam: 5}},
		// taking back more than there is stops at zero.
		{2 * h, store.RepCounts{UserSpam: -7, Ham: 1}, 2 * h, store.RepCounts{Spam: 0.75, Ham: 1, Phish: 1, UserHam: 0.75}},
		// a write older than the last one does not decay or rejuvenate.
		{h, store.RepCounts{Ham: 1}, 2 * h, store.RepCounts{Spam: 0.75, Ham: 2, Phish: 1, UserHam: 0.75}},
	}
	k := sender("bad.example")
	for i, st := range steps {
		noErr(t, s.AddReputation(ctx, repT0.Add(st.at), []store.RepDelta{{Key: k, RepCounts: st.delta}}))
		got := must(s.Reputations(ctx, repT0.Add(st.read), []store.RepKey{k})).get(t)
		e, ok := got[k]
		if !ok || !closeCounts(e.RepCounts, st.want) {
			t.Errorf("step %d: %+v (found %v), want %+v", i, e.RepCounts, ok, st.want)
		}
	}
	e := must(s.Reputations(ctx, repT0.Add(2*h), []store.RepKey{k})).get(t)[k]
	if !sameTime(e.FirstSeen, repT0) || !sameTime(e.LastSeen, repT0.Add(2*h)) {
		t.Errorf("first seen %v, last seen %v; want %v, %v", e.FirstSeen, e.LastSeen, repT0, repT0.Add(2*h))
	}

	// The same name under another kind is another key.
	other := store.RepKey{Kind: store.RepLink, Name: "bad.example"}
	got := must(s.Reputations(ctx, repT0, []store.RepKey{other, sender("unknown.example")})).get(t)
	if len(got) != 0 {
		t.Errorf("unknown keys: %+v, want none", got)
	}
	noErr(t, s.AddReputation(ctx, repT0.Add(3*h), []store.RepDelta{{Key: other, RepCounts: store.RepCounts{Ham: 1}}}))
	got = must(s.Reputations(ctx, repT0.Add(3*h), []store.RepKey{other})).get(t)
	if e := got[other]; e.Ham != 1 || e.Spam != 0 || !sameTime(e.FirstSeen, repT0.Add(3*h)) {
		t.Errorf("link key %+v: mixed with the sender key", e)
	}
}

// testReputationBatch writes and reads many keys of every kind in one
// call each, the same key twice in a batch included.
func testReputationBatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	var deltas []store.RepDelta
	var keys []store.RepKey
	for i := range 300 {
		kind := store.RepKinds[i%len(store.RepKinds)]
		k := store.RepKey{Kind: kind, Name: fmt.Sprintf("d%03d.example", i)}
		if kind == store.RepNet {
			k.Name = fmt.Sprintf("192.0.%d.0/24", i)
		}
		keys = append(keys, k)
		deltas = append(deltas, store.RepDelta{Key: k, RepCounts: store.RepCounts{Spam: float64(i)}})
	}
	deltas = append(deltas, store.RepDelta{Key: keys[7], RepCounts: store.RepCounts{Spam: 100}})
	noErr(t, s.AddReputation(ctx, repT0, deltas))
	got := must(s.Reputations(ctx, repT0, append(slices.Clone(keys), sender("absent.example")))).get(t)
	if len(got) != len(keys) {
		t.Fatalf("%d entries, want %d", len(got), len(keys))
	}
	for i, k := range keys {
		want := float64(i)
		if i == 7 {
			want += 100
		}
		if e := got[k]; e.Key != k || e.Spam != want {
			t.Errorf("%v: %+v, want spam %v", k, e, want)
		}
	}
}

// testReputationInvalid: bad kinds, names, counts and batches are
// ErrInvalid and change nothing.
func testReputationInvalid(t *testing.T, s store.Store) {
	ctx := t.Context()
	good := store.RepDelta{Key: sender("ok.example"), RepCounts: store.RepCounts{Spam: 1}}
	tooMany := make([]store.RepKey, store.MaxRepBatch+1)
	for i := range tooMany {
		tooMany[i] = sender(fmt.Sprintf("k%d.example", i))
	}
	for _, tc := range []struct {
		name string
		d    store.RepDelta
	}{
		{"unknown kind", store.RepDelta{Key: store.RepKey{Kind: "ip", Name: "x"}}},
		{"empty name", store.RepDelta{Key: sender("")}},
		{"long name", store.RepDelta{Key: sender(strings.Repeat("a", store.MaxRepNameLen+1))}},
		{"NUL", store.RepDelta{Key: sender("a\x00b")}},
		{"bad UTF-8", store.RepDelta{Key: sender("a\xffb")}},
		{"NaN", store.RepDelta{Key: sender("x.example"), RepCounts: store.RepCounts{Spam: math.NaN()}}},
		{"Inf", store.RepDelta{Key: sender("x.example"), RepCounts: store.RepCounts{UserHam: math.Inf(1)}}},
	} {
		wantErr(t, tc.name, s.AddReputation(ctx, repT0, []store.RepDelta{good, tc.d}), store.ErrInvalid)
		_, err := s.Reputations(ctx, repT0, []store.RepKey{tc.d.Key})
		if tc.d.Key.Name != "x.example" {
			wantErr(t, tc.name+" read", err, store.ErrInvalid)
		}
	}
	_, err := s.Reputations(ctx, repT0, tooMany)
	wantErr(t, "too many keys", err, store.ErrInvalid)
	if got := must(s.Reputations(ctx, repT0, []store.RepKey{good.Key})).get(t); len(got) != 0 {
		t.Errorf("a failed batch left %+v", got)
	}
}

// testReputationPrune: keys not seen since a time go, the others stay.
func testReputationPrune(t *testing.T, s store.Store) {
	ctx := t.Context()
	old, fresh := sender("old.example"), sender("fresh.example")
	noErr(t, s.AddReputation(ctx, repT0, []store.RepDelta{{Key: old, RepCounts: store.RepCounts{Spam: 1}}}))
	noErr(t, s.AddReputation(ctx, repT0.Add(time.Hour), []store.RepDelta{{Key: fresh, RepCounts: store.RepCounts{Spam: 1}}}))
	n := must(s.PruneReputation(ctx, repT0.Add(time.Minute))).get(t)
	got := must(s.Reputations(ctx, repT0, []store.RepKey{old, fresh})).get(t)
	if _, ok := got[fresh]; n != 1 || len(got) != 1 || !ok {
		t.Errorf("pruned %d, left %+v; want 1 pruned, fresh left", n, got)
	}
}

// testReputationConcurrent: increments from many writers at once all
// count.
func testReputationConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	k, l := sender("busy.example"), store.RepKey{Kind: store.RepNet, Name: "2001:db8::/64"}
	const writers, each = 8, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for range each {
				// alternate the key order, so that a backend locking rows
				// in the order given would deadlock.
				ds := []store.RepDelta{{Key: k, RepCounts: store.RepCounts{UserSpam: 1}}, {Key: l, RepCounts: store.RepCounts{Ham: 1}}}
				if w%2 == 1 {
					ds[0], ds[1] = ds[1], ds[0]
				}
				if err := s.AddReputation(ctx, repT0, ds); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got := must(s.Reputations(ctx, repT0, []store.RepKey{k, l})).get(t)
	if got[k].UserSpam != writers*each || got[l].Ham != writers*each {
		t.Errorf("counts %+v, %+v; want %d each", got[k].RepCounts, got[l].RepCounts, writers*each)
	}
}

// testCorrespondentsWrote: the addresses an account wrote to carry when,
// those it only received from do not; lookups are per account.
func testCorrespondentsWrote(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := credAccount(t, s, "writer@cred.test")
	b := credAccount(t, s, "reader@cred.test")
	t0 := repT0
	must(s.RecordSend(ctx, a.ID, t0, []string{"friend@out.test"}, 10)).get(t)
	noErr(t, s.AddCorrespondent(ctx, a.ID, "stranger@out.test", t0.Add(time.Minute), 10))
	noErr(t, s.AddCorrespondent(ctx, a.ID, "friend@out.test", t0.Add(2*time.Minute), 10))
	noErr(t, s.AddCorrespondent(ctx, b.ID, "friend@out.test", t0, 10))

	got := must(s.Correspondents(ctx, a.ID, []string{"friend@out.test", "stranger@out.test", "nobody@out.test"})).get(t)
	slices.SortFunc(got, func(x, y store.Correspondent) int { return strings.Compare(x.Address, y.Address) })
	want := []store.Correspondent{
		{Address: "friend@out.test", LastSeen: t0.Add(2 * time.Minute), LastWrote: t0},
		{Address: "stranger@out.test", LastSeen: t0.Add(time.Minute)},
	}
	if len(got) != len(want) {
		t.Fatalf("correspondents %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Address != want[i].Address || !sameTime(got[i].LastSeen, want[i].LastSeen) || !sameTime(got[i].LastWrote, want[i].LastWrote) {
			t.Errorf("correspondent %+v, want %+v", got[i], want[i])
		}
	}
	if got := must(s.Correspondents(ctx, b.ID, []string{"friend@out.test"})).get(t); len(got) != 1 || !got[0].LastWrote.IsZero() {
		t.Errorf("the other account's %+v: it never wrote", got)
	}
	if got := must(s.Correspondents(ctx, 1<<40, []string{"friend@out.test"})).get(t); len(got) != 0 {
		t.Errorf("unknown account: %+v", got)
	}
	_, err := s.Correspondents(ctx, a.ID, make([]string, store.MaxRepBatch+1))
	wantErr(t, "too many addresses", err, store.ErrInvalid)

	// Both backends list the correspondents written to, for the spam
	// filter's display-name check (not part of store.Store).
	l, ok := s.(interface {
		ListCorrespondents(ctx context.Context, accountID int64, limit int) ([]store.Correspondent, error)
	})
	if !ok {
		t.Fatal("the store does not list correspondents")
	}
	must(s.RecordSend(ctx, a.ID, t0.Add(time.Hour), []string{"colleague@out.test"}, 10)).get(t)
	addrs := func(cs []store.Correspondent) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Address)
		}
		return out
	}
	if got := addrs(must(l.ListCorrespondents(ctx, a.ID, 10)).get(t)); !slices.Equal(got, []string{"colleague@out.test", "friend@out.test"}) {
		t.Errorf("listed %v: those written to, the latest first", got)
	}
	if got := addrs(must(l.ListCorrespondents(ctx, a.ID, 1)).get(t)); !slices.Equal(got, []string{"colleague@out.test"}) {
		t.Errorf("limit 1: %v", got)
	}
	if got := must(l.ListCorrespondents(ctx, b.ID, 10)).get(t); len(got) != 0 {
		t.Errorf("an account that never wrote lists %+v", got)
	}
}
