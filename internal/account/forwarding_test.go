package account

import (
	"errors"
	"io"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// queuedConfirmation returns the target and the token of the newest
// confirmation message in the queue.
func queuedConfirmation(t *testing.T, s *Service) (to, token string) {
	t.Helper()
	items, err := s.Store.ListQueue(t.Context())
	if err != nil || len(items) == 0 {
		t.Fatalf("queue: %d items, %v", len(items), err)
	}
	it := items[len(items)-1]
	r, err := s.Store.OpenBody(t.Context(), it.BlobID)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	body, _ := io.ReadAll(r)
	m := regexp.MustCompile(`https://[^\s]+`).FindString(string(body))
	u, err := url.Parse(m)
	if err != nil || u.Host != "mail.example.com" || u.Path != ForwardConfirmPath {
		t.Fatalf("link %q in %q: %v", m, body, err)
	}
	if it.From != "" {
		t.Errorf("confirmation from %q, want the null sender", it.From)
	}
	return it.Recipients[0].Address, u.Query().Get("token")
}

func TestAddForwarding(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	now := fixedClock(s, t0)
	s.WebHostname = "mail.example.com"
	woken := 0
	s.Queued = func() { woken++ }
	alerts := &recordedAlerts{}
	s.Alerts = alerts
	acc := mustAccount(t, s, "user@example.com")
	mustAccount(t, s, "friend@example.com")
	mustAccount(t, s, "back@example.com")
	mustAlias(t, s, "loop@example.com", "user@example.com")
	su := StepUp{AccountID: acc.ID, Time: t0}

	refusals := []struct {
		what   string
		su     StepUp
		target string
		want   error
		alert  bool
	}{
		{"no step-up", StepUp{}, "far@elsewhere.example", ErrStepUpRequired, true},
		{"stale step-up", StepUp{AccountID: acc.ID, Time: t0.Add(-StepUpWindow - time.Second)}, "far@elsewhere.example", ErrStepUpRequired, true},
		{"another account's step-up", StepUp{AccountID: acc.ID + 1, Time: t0}, "far@elsewhere.example", ErrStepUpRequired, true},
		{"the account itself", su, "User@Example.com", ErrInvalid, false},
		{"an alias back to it", su, "loop@example.com", ErrInvalid, false},
		{"not an address", su, "nowhere", ErrInvalid, false},
		{"unknown hosted address", su, "nobody@example.com", store.ErrNotFound, false},
	}
	for _, r := range refusals {
		alerts.sent = nil
		_, err := s.AddForwarding(ctx, r.su, "user@example.com", r.target, false)
		if !errors.Is(err, r.want) {
			t.Errorf("%s: %v, want %v", r.what, err, r.want)
		}
		if got := alerts.kinds(); r.alert != slices.Equal(got, []AlertKind{AlertForwardingChanged}) || !r.alert && len(got) > 0 {
			t.Errorf("%s: alerts %v", r.what, got)
		}
	}
	if rules, _ := s.ListForwarding(ctx, "user@example.com"); len(rules) != 0 {
		t.Fatalf("refusals left rules %+v", rules)
	}

	alerts.sent = nil
	local, err := s.AddForwarding(ctx, su, "user@example.com", "Friend@example.com", true)
	if err != nil || local.State != store.ForwardActive || local.Target != "friend@example.com" || !local.KeepCopy {
		t.Fatalf("hosted target: %+v, %v", local, err)
	}
	if woken != 0 {
		t.Errorf("a hosted target was sent a confirmation")
	}
	// user@ → back2@ → user@ is a loop through another account's forward.
	mustAccount(t, s, "back2@example.com")
	if _, err := s.AddForwardingAdmin(ctx, "back2@example.com", "user@example.com", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddForwarding(ctx, su, "user@example.com", "back2@example.com", false); !errors.Is(err, ErrInvalid) {
		t.Errorf("loop through another account's forward: %v", err)
	}

	outside, err := s.AddForwarding(ctx, su, "user@example.com", "Far@Elsewhere.Example", false)
	if err != nil || outside.State != store.ForwardPending || outside.TokenExpires != t0.Add(ForwardTokenTTL) {
		t.Fatalf("outside target: %+v, %v", outside, err)
	}
	if woken != 1 {
		t.Errorf("queue woken %d times, want 1", woken)
	}
	to, token := queuedConfirmation(t, s)
	if to != "far@elsewhere.example" || len(token) < 32 {
		t.Errorf("confirmation to %q with token %q", to, token)
	}
	if _, err := s.AddForwarding(ctx, su, "user@example.com", "far@elsewhere.example", true); !errors.Is(err, store.ErrExists) {
		t.Errorf("same target twice: %v", err)
	}

	for _, bad := range []string{"", "x", token + "x", strings.Repeat("A", 200)} {
		if _, err := s.ConfirmForwarding(ctx, bad); !errors.Is(err, ErrBadForwardToken) {
			t.Errorf("confirm %q: %v", bad, err)
		}
	}
	alerts.sent = nil
	*now = t0.Add(time.Hour)
	c, err := s.ConfirmForwarding(ctx, token)
	if err != nil || c.ID != outside.ID || c.State != store.ForwardActive || !c.Confirmed.Equal(t0.Add(time.Hour)) {
		t.Fatalf("confirm: %+v, %v", c, err)
	}
	if got := alerts.kinds(); !slices.Equal(got, []AlertKind{AlertForwardingChanged}) {
		t.Errorf("confirm alerts %v", got)
	}
	if _, err := s.ConfirmForwarding(ctx, token); !errors.Is(err, ErrBadForwardToken) {
		t.Errorf("second confirmation: %v", err)
	}

	// An unconfirmed token expires.
	late, err := s.AddForwardingAdmin(ctx, "user@example.com", "late@elsewhere.example", false)
	if err != nil || late.State != store.ForwardPending {
		t.Fatalf("admin outside target: %+v, %v", late, err)
	}
	_, lateToken := queuedConfirmation(t, s)
	*now = now.Add(ForwardTokenTTL)
	if _, err := s.ConfirmForwarding(ctx, lateToken); !errors.Is(err, ErrBadForwardToken) {
		t.Errorf("expired token: %v", err)
	}

	alerts.sent = nil
	if err := s.RemoveForwarding(ctx, StepUp{}, "user@example.com", late.ID); err != nil {
		t.Fatalf("remove without step-up: %v", err)
	}
	if err := s.RemoveForwarding(ctx, StepUp{}, "user@example.com", late.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("remove twice: %v", err)
	}
	if got := alerts.kinds(); !slices.Equal(got, []AlertKind{AlertForwardingChanged}) {
		t.Errorf("remove alerts %v", got)
	}
	rules, err := s.ListForwarding(ctx, "user@example.com")
	if err != nil || len(rules) != 2 || rules[0].ID != local.ID || rules[1].ID != outside.ID || rules[1].TokenHash != nil {
		t.Errorf("list: %+v, %v", rules, err)
	}

	// The audit trail: every change and the refusals, in the event log.
	log, err := s.Store.QueryLog(ctx, store.LogQuery{AccountID: acc.ID, Kind: "forwarding"})
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, e := range log {
		outcomes = append(outcomes, e.Outcome)
	}
	slices.Reverse(outcomes)
	want := []string{"refused", "refused", "refused", "added", "added", "confirmed", "added", "removed"}
	if !slices.Equal(outcomes, want) {
		t.Errorf("log outcomes %v, want %v", outcomes, want)
	}
}

func TestResolveForwarding(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	s.WebHostname = "mail.example.com"
	for _, a := range []string{"keep@example.com", "move@example.com", "wait@example.com", "both@example.com", "friend@example.com"} {
		mustAccount(t, s, a)
	}
	add := func(addr, target string, keep bool) store.ForwardRule {
		t.Helper()
		r, err := s.AddForwardingAdmin(ctx, addr, target, keep)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	add("keep@example.com", "friend@example.com", true)
	add("move@example.com", "friend@example.com", false)
	add("wait@example.com", "far@elsewhere.example", false) // pending
	add("both@example.com", "friend@example.com", false)
	add("both@example.com", "far@elsewhere.example", false)
	_, token := queuedConfirmation(t, s)
	if _, err := s.ConfirmForwarding(ctx, token); err != nil {
		t.Fatal(err)
	}
	// An alias that leads to both@ and straight outside: only the
	// account's rule names it in ForwardedBy.
	if _, err := s.AddAlias(ctx, "list@example.com", []string{"both@example.com", "out@elsewhere.example"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		addr        string
		accounts    []string
		external    []string
		forwardedBy map[string]string
	}{
		{"keep@example.com", []string{"keep@example.com", "friend@example.com"}, nil, nil},
		{"move@example.com", []string{"friend@example.com"}, nil, nil},
		{"wait@example.com", []string{"wait@example.com"}, nil, nil},
		{"both@example.com", []string{"friend@example.com"}, []string{"far@elsewhere.example"},
			map[string]string{"far@elsewhere.example": "both@example.com"}},
		{"list@example.com", []string{"friend@example.com"}, []string{"far@elsewhere.example", "out@elsewhere.example"},
			map[string]string{"far@elsewhere.example": "both@example.com"}},
	}
	for _, c := range cases {
		res, err := s.Resolve(ctx, c.addr)
		if err != nil || !slices.Equal(res.Accounts, c.accounts) || !slices.Equal(res.External, c.external) ||
			!maps.Equal(res.ForwardedBy, c.forwardedBy) {
			t.Errorf("resolve %s: %+v, %v; want %v %v %v", c.addr, res, err, c.accounts, c.external, c.forwardedBy)
		}
		if c.addr == "list@example.com" {
			continue // an alias: its own outside target stays
		}
		res, err = s.ResolveLocal(ctx, c.addr)
		if err != nil || !slices.Equal(res.Accounts, []string{c.addr}) || len(res.External) != 0 || res.ForwardedBy != nil {
			t.Errorf("resolve %s locally: %+v, %v", c.addr, res, err)
		}
	}
}

func TestRemindForwarding(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	now := fixedClock(s, t0)
	s.WebHostname = "mail.example.com"
	alerts := &recordedAlerts{}
	s.Alerts = alerts
	mustAccount(t, s, "user@example.com")
	mustAccount(t, s, "friend@example.com")
	if _, err := s.AddForwardingAdmin(ctx, "user@example.com", "friend@example.com", true); err != nil {
		t.Fatal(err) // hosted: never reminded
	}
	if _, err := s.AddForwardingAdmin(ctx, "user@example.com", "far@elsewhere.example", true); err != nil {
		t.Fatal(err)
	}
	_, token := queuedConfirmation(t, s)
	*now = t0.Add(time.Hour)
	if _, err := s.ConfirmForwarding(ctx, token); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		at   time.Duration // after confirmation
		sent int
	}{
		{0, 0},
		{23 * time.Hour, 0},
		{24 * time.Hour, 1},
		{25 * time.Hour, 0},
		{6 * 24 * time.Hour, 0},
		{7 * 24 * time.Hour, 1},
		{30 * 24 * time.Hour, 0},
	}
	for _, st := range steps {
		alerts.sent = nil
		*now = t0.Add(time.Hour + st.at)
		n, err := s.RemindForwarding(ctx)
		if err != nil || n != st.sent || len(alerts.sent) != st.sent {
			t.Errorf("at +%v: sent %d (%d alerts), %v; want %d", st.at, n, len(alerts.sent), err, st.sent)
		}
		for _, a := range alerts.sent {
			if a.Kind != AlertForwardingActive || !strings.Contains(a.Detail, "far@elsewhere.example") {
				t.Errorf("reminder %+v", a)
			}
		}
	}

	// A server down through both reminders sends one, late.
	if _, err := s.AddForwardingAdmin(ctx, "user@example.com", "other@elsewhere.example", false); err != nil {
		t.Fatal(err)
	}
	_, token = queuedConfirmation(t, s)
	if _, err := s.ConfirmForwarding(ctx, token); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(10 * 24 * time.Hour)
	for _, want := range []int{1, 0} {
		alerts.sent = nil
		if n, err := s.RemindForwarding(ctx); err != nil || n != want || len(alerts.sent) != n {
			t.Errorf("after downtime: sent %d, %v; want %d", n, err, want)
		}
	}
}
