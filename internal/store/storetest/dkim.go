package storetest

import (
	"maps"
	"slices"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// testDKIMKeys covers store.DKIMKeys: adding keys in one transaction,
// refusing bad or duplicate ones, the rotation from pending to active to
// retiring, the removal of retired keys, and keys leaving with their
// domain.
func testDKIMKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(s.CreateDomain(ctx, "keys.test")).get(t)
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	key := func(sel, alg string, state store.DKIMKeyState, created time.Time) store.DKIMKey {
		return store.DKIMKey{Selector: sel, Algorithm: alg, PrivateKey: []byte("der of " + sel), State: state, Created: created}
	}
	noErr(t, s.AddDKIMKeys(ctx, "keys.test", []store.DKIMKey{key("a-e", "ed25519", store.DKIMActive, t0), key("a-r", "rsa", store.DKIMActive, t0)}))

	wantErr(t, "unknown domain", s.AddDKIMKeys(ctx, "nowhere.test", []store.DKIMKey{key("x", "rsa", store.DKIMActive, t0)}), store.ErrNotFound)
	wantErr(t, "taken selector", s.AddDKIMKeys(ctx, "keys.test", []store.DKIMKey{key("b-e", "ed25519", store.DKIMPending, t0), key("a-r", "rsa", store.DKIMPending, t0)}), store.ErrExists)
	for _, bad := range []store.DKIMKey{key("", "rsa", store.DKIMActive, t0), key("c", "dsa", store.DKIMActive, t0),
		key("c", "rsa", store.DKIMRetiring, t0), {Selector: "c", Algorithm: "rsa", State: store.DKIMActive}} {
		wantErr(t, "bad key "+bad.Selector+" "+bad.Algorithm, s.AddDKIMKeys(ctx, "keys.test", []store.DKIMKey{bad}), store.ErrInvalid)
	}
	list := func() []store.DKIMKey { return must(s.ListDKIMKeys(ctx, "keys.test")).get(t) }
	states := func() map[string]store.DKIMKeyState {
		m := map[string]store.DKIMKeyState{}
		for _, k := range list() {
			m[k.Selector] = k.State
		}
		return m
	}
	got := list()
	if len(got) != 2 || got[0].Selector != "a-e" || got[1].Selector != "a-r" || string(got[0].PrivateKey) != "der of a-e" ||
		!got[0].Created.Equal(t0) || got[0].Algorithm != "ed25519" || !got[0].RetireAt.IsZero() {
		t.Fatalf("keys after adding two: %+v", got)
	}
	wantErr(t, "activate without pending", s.ActivateDKIMKeys(ctx, "keys.test", t0), store.ErrNotFound)

	t1 := t0.Add(24 * time.Hour)
	noErr(t, s.AddDKIMKeys(ctx, "keys.test", []store.DKIMKey{key("b-e", "ed25519", store.DKIMPending, t1), key("b-r", "rsa", store.DKIMPending, t1)}))
	if sel := slices.Collect(func(yield func(string) bool) {
		for _, k := range list() {
			if !yield(k.Selector) {
				return
			}
		}
	}); !slices.Equal(sel, []string{"a-e", "a-r", "b-e", "b-r"}) {
		t.Errorf("keys by creation: %v", sel)
	}
	retire := t1.Add(7 * 24 * time.Hour)
	testDKIMPublished(t, s, t1, retire)
	published := map[string]time.Time{}
	for _, k := range list() {
		published[k.Selector] = k.PublishedSince
	}
	if !published["b-e"].Equal(t1.Add(time.Hour)) || !published["b-r"].Equal(t1.Add(90*time.Minute)) || !published["a-e"].IsZero() {
		t.Errorf("published since after activation: %v", published)
	}
	want := map[string]store.DKIMKeyState{"a-e": store.DKIMRetiring, "a-r": store.DKIMRetiring, "b-e": store.DKIMActive, "b-r": store.DKIMActive}
	if got := states(); !maps.Equal(got, want) {
		t.Errorf("after activation: %v, want %v", got, want)
	}
	for _, k := range list() {
		if k.State == store.DKIMRetiring && !k.RetireAt.Equal(retire) {
			t.Errorf("%s retires at %v, want %v", k.Selector, k.RetireAt, retire)
		}
	}
	if n := must(s.DeleteDKIMKeys(ctx, "keys.test", retire)).get(t); n != 0 {
		t.Errorf("deleted %d keys at their retirement time, want 0", n)
	}
	if n := must(s.DeleteDKIMKeys(ctx, "keys.test", retire.Add(time.Second))).get(t); n != 2 {
		t.Errorf("deleted %d keys after retirement, want 2", n)
	}
	want = map[string]store.DKIMKeyState{"b-e": store.DKIMActive, "b-r": store.DKIMActive}
	if got := states(); !maps.Equal(got, want) {
		t.Errorf("after deletion: %v, want %v", got, want)
	}

	// An administrator activates by hand, published or not.
	noErr(t, s.AddDKIMKeys(ctx, "keys.test", []store.DKIMKey{key("c-e", "ed25519", store.DKIMPending, t1)}))
	noErr(t, s.ActivateDKIMKeys(ctx, "keys.test", retire))
	want = map[string]store.DKIMKeyState{"b-e": store.DKIMRetiring, "b-r": store.DKIMRetiring, "c-e": store.DKIMActive}
	if got := states(); !maps.Equal(got, want) {
		t.Errorf("after activation by hand: %v, want %v", got, want)
	}

	noErr(t, s.DeleteDomain(ctx, "keys.test"))
	_, err := s.ListDKIMKeys(ctx, "keys.test")
	wantErr(t, "keys of a deleted domain", err, store.ErrNotFound)
	must(s.CreateDomain(ctx, "keys.test")).get(t)
	if got := list(); len(got) != 0 {
		t.Errorf("a domain created again has the old keys: %+v", got)
	}
}

// testDKIMPublished: pending keys b-e and b-r of keys.test are activated
// only once both were seen published by the given time; a rotation that
// comes in between (a key not seen yet) stops the activation.
func testDKIMPublished(t *testing.T, s store.Store, t1, retire time.Time) {
	ctx := t.Context()
	for _, c := range []struct{ domain, sel string }{{"nowhere.test", "b-e"}, {"keys.test", "x"}, {"keys.test", "a-e"}} {
		wantErr(t, "mark "+c.domain+" "+c.sel, s.MarkDKIMKeyPublished(ctx, c.domain, c.sel, t1), store.ErrNotFound)
	}
	activate := func(what string, by time.Time, want error) {
		t.Helper()
		err := s.ActivatePublishedDKIMKeys(ctx, "keys.test", by, retire)
		if want == nil {
			noErr(t, err)
			return
		}
		wantErr(t, what, err, want)
		for _, k := range must(s.ListDKIMKeys(ctx, "keys.test")).get(t) {
			if k.State == store.DKIMRetiring || k.Selector[0] == 'b' && k.State != store.DKIMPending {
				t.Fatalf("%s: %s is %s", what, k.Selector, k.State)
			}
		}
	}
	activate("none seen", t1.Add(5*time.Hour), store.ErrNotFound)
	noErr(t, s.MarkDKIMKeyPublished(ctx, "keys.test", "b-e", t1.Add(time.Hour)))
	activate("one seen", t1.Add(5*time.Hour), store.ErrNotFound)
	noErr(t, s.MarkDKIMKeyPublished(ctx, "keys.test", "b-r", t1.Add(3*time.Hour)))
	activate("one seen too late", t1.Add(2*time.Hour), store.ErrNotFound)
	noErr(t, s.MarkDKIMKeyPublished(ctx, "keys.test", "b-r", time.Time{}))
	for _, k := range must(s.ListDKIMKeys(ctx, "keys.test")).get(t) {
		if k.Selector == "b-r" && !k.PublishedSince.IsZero() {
			t.Errorf("b-r published since %v after clearing", k.PublishedSince)
		}
	}
	activate("one cleared", t1.Add(5*time.Hour), store.ErrNotFound)
	activate("no time", time.Time{}, store.ErrInvalid)
	noErr(t, s.MarkDKIMKeyPublished(ctx, "keys.test", "b-r", t1.Add(90*time.Minute)))
	activate("both seen", t1.Add(2*time.Hour), nil)
	wantErr(t, "nothing pending", s.ActivatePublishedDKIMKeys(ctx, "keys.test", t1.Add(2*time.Hour), retire), store.ErrNotFound)
}
