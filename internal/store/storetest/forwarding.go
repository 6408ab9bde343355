package storetest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// testForwardRules covers adding, listing, confirming (once, before its
// expiry, by the hash only), reminders (each once), deleting forwarding
// rules, the bounds, and that they go with their account.
func testForwardRules(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := credAccount(t, s, "owner@cred.test")
	other := credAccount(t, s, "other@cred.test")
	now := time.Now().UTC().Truncate(time.Second)
	hash := func(tok string) []byte { h := sha256.Sum256([]byte(tok)); return h[:] }

	pending := store.ForwardRule{AccountID: a.ID, Target: "far@elsewhere.test", State: store.ForwardPending,
		TokenHash: hash("t1"), TokenExpires: now.Add(time.Hour), Created: now}
	p := must(s.AddForwardRule(ctx, pending)).get(t)
	if p.ID == 0 || p.State != store.ForwardPending || !p.Created.Equal(now) {
		t.Errorf("added %+v", p)
	}
	active := must(s.AddForwardRule(ctx, store.ForwardRule{AccountID: a.ID, Target: "other@cred.test",
		KeepCopy: true, State: store.ForwardActive, Created: now, Confirmed: now})).get(t)

	bad := []struct {
		what string
		r    store.ForwardRule
		want error
	}{
		{"same target", pending, store.ErrExists},
		{"unknown account", store.ForwardRule{AccountID: 1 << 40, Target: "x@e.test", State: store.ForwardActive, Created: now}, store.ErrNotFound},
		{"empty target", store.ForwardRule{AccountID: a.ID, State: store.ForwardActive, Created: now}, store.ErrInvalid},
		{"control character", store.ForwardRule{AccountID: a.ID, Target: "x\r\n@e.test", State: store.ForwardActive, Created: now}, store.ErrInvalid},
		{"unknown state", store.ForwardRule{AccountID: a.ID, Target: "y@e.test", State: "on", Created: now}, store.ErrInvalid},
		{"pending without token", store.ForwardRule{AccountID: a.ID, Target: "z@e.test", State: store.ForwardPending, Created: now}, store.ErrInvalid},
	}
	for _, b := range bad {
		wantErr(t, b.what, must(s.AddForwardRule(ctx, b.r)).err, b.want)
	}

	list := must(s.ListForwardRules(ctx, a.ID)).get(t)
	if len(list) != 2 || list[0].ID != p.ID || list[1].ID != active.ID || !list[1].KeepCopy ||
		!bytes.Equal(list[0].TokenHash, hash("t1")) || !list[0].TokenExpires.Equal(now.Add(time.Hour)) || list[1].TokenHash != nil {
		t.Errorf("list: %+v", list)
	}
	if got := must(s.ListForwardRules(ctx, other.ID)).get(t); len(got) != 0 {
		t.Errorf("other account has %d rules", len(got))
	}
	if got := ruleIDs(must(s.ActiveForwardRules(ctx)).get(t)); !slices.Equal(got, []int64{active.ID}) {
		t.Errorf("active rules %v, want [%d]", got, active.ID)
	}

	wantErr(t, "wrong token", must(s.ConfirmForwardRule(ctx, hash("t2"), now)).err, store.ErrNotFound)
	wantErr(t, "expired token", must(s.ConfirmForwardRule(ctx, hash("t1"), now.Add(time.Hour))).err, store.ErrNotFound)
	c := must(s.ConfirmForwardRule(ctx, hash("t1"), now.Add(time.Minute))).get(t)
	if c.ID != p.ID || c.State != store.ForwardActive || c.TokenHash != nil || !c.Confirmed.Equal(now.Add(time.Minute)) {
		t.Errorf("confirmed %+v", c)
	}
	wantErr(t, "token used twice", must(s.ConfirmForwardRule(ctx, hash("t1"), now.Add(time.Minute))).err, store.ErrNotFound)

	wantErr(t, "second reminder first", s.MarkForwardReminded(ctx, c.ID, 2, now), store.ErrNotFound)
	noErr(t, s.MarkForwardReminded(ctx, c.ID, 1, now.Add(24*time.Hour)))
	wantErr(t, "first reminder twice", s.MarkForwardReminded(ctx, c.ID, 1, now.Add(24*time.Hour)), store.ErrNotFound)
	list = must(s.ListForwardRules(ctx, a.ID)).get(t)
	if list[0].Reminders != 1 || !list[0].LastReminder.Equal(now.Add(24*time.Hour)) {
		t.Errorf("after a reminder: %+v", list[0])
	}

	wantErr(t, "delete another account's rule", must(s.DeleteForwardRule(ctx, other.ID, c.ID)).err, store.ErrNotFound)
	d := must(s.DeleteForwardRule(ctx, a.ID, c.ID)).get(t)
	if d.Target != "far@elsewhere.test" {
		t.Errorf("deleted %+v", d)
	}
	wantErr(t, "delete twice", must(s.DeleteForwardRule(ctx, a.ID, c.ID)).err, store.ErrNotFound)

	for i := len(must(s.ListForwardRules(ctx, a.ID)).get(t)); i < store.MaxForwardRules; i++ {
		must(s.AddForwardRule(ctx, store.ForwardRule{AccountID: a.ID, Target: fmt.Sprintf("n%d@e.test", i),
			State: store.ForwardActive, Created: now})).get(t)
	}
	wantErr(t, "too many", must(s.AddForwardRule(ctx, store.ForwardRule{AccountID: a.ID, Target: "last@e.test",
		State: store.ForwardActive, Created: now})).err, store.ErrQuota)

	noErr(t, s.DeleteAccount(ctx, a.Address))
	if got := must(s.ActiveForwardRules(ctx)).get(t); len(got) != 0 {
		t.Errorf("%d rules outlive their account", len(got))
	}
}

func ruleIDs(rules []store.ForwardRule) []int64 {
	var out []int64
	for _, r := range rules {
		out = append(out, r.ID)
	}
	return out
}
