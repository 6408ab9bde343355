package storetest

import (
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

// testRecoveryAddress covers setting, replacing and removing an account's
// recovery address, the previous one returned each time, the bounds, and
// that it goes with its account.
func testRecoveryAddress(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := credAccount(t, s, "owner@cred.test")
	other := credAccount(t, s, "other@cred.test")

	wantErr(t, "before setting", must(s.GetRecoveryAddress(ctx, a.ID)).err, store.ErrNotFound)
	wantErr(t, "unknown account", must(s.SetRecoveryAddress(ctx, 1<<40, "x@elsewhere.test")).err, store.ErrNotFound)
	wantErr(t, "too long", must(s.SetRecoveryAddress(ctx, a.ID, strings.Repeat("x", 250)+"@e.test")).err, store.ErrInvalid)
	wantErr(t, "control character", must(s.SetRecoveryAddress(ctx, a.ID, "x\r\n@e.test")).err, store.ErrInvalid)

	steps := []struct{ set, previous string }{
		{"first@elsewhere.test", ""},
		{"second@elsewhere.test", "first@elsewhere.test"},
		{"second@elsewhere.test", "second@elsewhere.test"},
		{"", "second@elsewhere.test"},
		{"", ""},
		{"third@elsewhere.test", ""},
	}
	for _, st := range steps {
		prev := must(s.SetRecoveryAddress(ctx, a.ID, st.set)).get(t)
		if prev != st.previous {
			t.Errorf("set %q: previous %q, want %q", st.set, prev, st.previous)
		}
		got, err := s.GetRecoveryAddress(ctx, a.ID)
		if st.set == "" {
			wantErr(t, "after removing", err, store.ErrNotFound)
		} else if err != nil || got != st.set {
			t.Errorf("after setting %q: got %q, %v", st.set, got, err)
		}
	}
	wantErr(t, "other account untouched", must(s.GetRecoveryAddress(ctx, other.ID)).err, store.ErrNotFound)

	noErr(t, s.DeleteAccount(ctx, a.Address))
	wantErr(t, "deleted account", must(s.GetRecoveryAddress(ctx, a.ID)).err, store.ErrNotFound)
	b := credAccount(t, s, "owner@cred.test")
	wantErr(t, "new account of the same name", must(s.GetRecoveryAddress(ctx, b.ID)).err, store.ErrNotFound)
}
