package account

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
	"sealpost.dev/sealpost/internal/store"
)

// TestPlanDKIM decides rounds of the rotation job from keys, what DNS
// showed and the clock.
func TestPlanDKIM(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	hour := time.Hour
	active := func(sel string) store.DKIMKey { return store.DKIMKey{Selector: sel, State: store.DKIMActive} }
	retiring := func(sel string, at time.Time) store.DKIMKey {
		return store.DKIMKey{Selector: sel, State: store.DKIMRetiring, RetireAt: at}
	}
	pending := func(sel string, since time.Time) store.DKIMKey {
		return store.DKIMKey{Selector: sel, State: store.DKIMPending, PublishedSince: since}
	}
	pub, absent := dkimObservation{sight: dkimPublished}, dkimObservation{sight: dkimAbsent, detail: "no such name"}
	differs := dkimObservation{sight: dkimDiffers, detail: "another key"}
	failed := dkimObservation{sight: dkimUnknown, detail: "SERVFAIL"}
	auto := DKIMRotation{AutoActivate: true, PublishHold: 2 * hour}
	for _, tc := range []struct {
		name string
		keys []store.DKIMKey
		seen map[string]dkimObservation
		p    DKIMRotation
		// want renders the plan: marks, activation, removals, events.
		want string
	}{
		{"nothing to do", []store.DKIMKey{active("a")}, nil, auto, ""},
		{"retired keys go, not before their time", []store.DKIMKey{retiring("o1", now.Add(-time.Second)), retiring("o0", now.Add(-hour)),
			retiring("o2", now), active("a")}, nil, auto, "remove [o0 o1]"},
		{"first seen", []store.DKIMKey{active("a"), pending("ne", time.Time{}), pending("nr", time.Time{})},
			map[string]dkimObservation{"ne": pub, "nr": absent}, auto, "mark ne=now; seen-published [ne]"},
		{"held, but not both long enough", []store.DKIMKey{active("a"), pending("ne", now.Add(-3*hour)), pending("nr", now.Add(-hour))},
			map[string]dkimObservation{"ne": pub, "nr": pub}, auto, ""},
		{"both held", []store.DKIMKey{active("ae"), active("ar"), pending("ne", now.Add(-3*hour)), pending("nr", now.Add(-2*hour))},
			map[string]dkimObservation{"ne": pub, "nr": pub}, auto, "activate [ne nr] by now-2h0m0s replacing [ae ar]"},
		{"both held, hold 0 is the default day", []store.DKIMKey{active("a"), pending("ne", now.Add(-3*hour)), pending("nr", now.Add(-2*hour))},
			map[string]dkimObservation{"ne": pub, "nr": pub}, DKIMRotation{AutoActivate: true}, ""},
		{"held a day", []store.DKIMKey{active("a"), pending("ne", now.Add(-24*hour)), pending("nr", now.Add(-25*hour))},
			map[string]dkimObservation{"ne": pub, "nr": pub}, DKIMRotation{AutoActivate: true}, "activate [ne nr] by now-24h0m0s replacing [a]"},
		{"held, activation off", []store.DKIMKey{active("a"), pending("ne", now.Add(-3*hour)), pending("nr", now.Add(-3*hour))},
			map[string]dkimObservation{"ne": pub, "nr": pub}, DKIMRotation{PublishHold: hour}, ""},
		{"seen at first sight with activation off", []store.DKIMKey{pending("ne", time.Time{})},
			map[string]dkimObservation{"ne": pub}, DKIMRotation{}, "mark ne=now; seen-published [ne]"},
		{"a lookup failed: nothing changes", []store.DKIMKey{active("a"), pending("ne", now.Add(-3*hour)), pending("nr", now.Add(-3*hour))},
			map[string]dkimObservation{"ne": pub, "nr": failed}, auto, "lookup-failed [nr] SERVFAIL"},
		{"gone", []store.DKIMKey{active("a"), pending("ne", now.Add(-3*hour)), pending("nr", now.Add(-3*hour))},
			map[string]dkimObservation{"ne": pub, "nr": absent}, auto, "mark nr=zero; unpublished [nr] no such name"},
		{"replaced by another record", []store.DKIMKey{active("a"), pending("ne", now.Add(-3*hour)), pending("nr", now.Add(-3*hour))},
			map[string]dkimObservation{"ne": differs, "nr": pub}, auto, "mark ne=zero; record-differs [ne] another key"},
		{"differs, never seen", []store.DKIMKey{pending("ne", time.Time{})},
			map[string]dkimObservation{"ne": differs}, auto, "record-differs [ne] another key"},
		{"not published yet", []store.DKIMKey{active("a"), pending("ne", time.Time{})},
			map[string]dkimObservation{"ne": absent}, auto, ""},
		{"everything at once", []store.DKIMKey{retiring("o", now.Add(-hour)), active("a"), pending("ne", now.Add(-5*hour)), pending("nr", now.Add(-2*hour))},
			map[string]dkimObservation{"ne": pub, "nr": pub}, auto, "activate [ne nr] by now-2h0m0s replacing [a]; remove [o]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := renderPlan(now, planDKIM(now, tc.keys, tc.seen, tc.p)); got != tc.want {
				t.Errorf("plan:\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func renderPlan(now time.Time, p dkimPlan) string {
	var parts []string
	when := func(t time.Time) string {
		switch {
		case t.IsZero():
			return "zero"
		case t.Equal(now):
			return "now"
		}
		return "now-" + now.Sub(t).String()
	}
	for _, m := range p.marks {
		parts = append(parts, "mark "+m.selector+"="+when(m.since))
	}
	if !p.activateBy.IsZero() {
		parts = append(parts, fmt.Sprintf("activate %v by %s replacing %v", p.activate, when(p.activateBy), p.replaced))
	}
	if len(p.remove) > 0 {
		parts = append(parts, fmt.Sprintf("remove %v", p.remove))
	}
	for _, e := range p.events {
		parts = append(parts, strings.TrimSpace(fmt.Sprintf("%s %v %s", e.Kind, e.Selectors, e.Detail)))
	}
	return strings.Join(parts, "; ")
}

// TestAdvanceDKIM walks a rotation through the job's rounds, with the DNS
// world of each round served by a dnstest server on loopback: records
// appear, one holds another key, one fails to resolve, one vanishes, and
// the pair signs only once both were seen for the whole hold; the keys
// they replaced go after the overlap.
func TestAdvanceDKIM(t *testing.T) {
	ctx := t.Context()
	s := newService(t)
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	now := t0
	s.Now = func() time.Time { return now }
	s.DKIMKeyGen = GenerateDKIMKeys
	const domain = "rot.example"
	if _, err := s.AddDomain(ctx, domain); err != nil {
		t.Fatal(err)
	}
	old, err := s.DKIMKeys(ctx, domain)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := s.RotateDKIM(ctx, domain)
	if err != nil {
		t.Fatal(err)
	}
	record := func(k store.DKIMKey) string {
		rec, err := DKIMRecord(k)
		if err != nil {
			t.Fatal(err)
		}
		return dkim.KeyName(k.Selector, domain) + ". TXT " + dnsx.ZoneTXT(rec) + "\n"
	}
	newE, newR := fresh[0], fresh[1]
	oldR := old[1]
	rsaName := dkim.KeyName(newR.Selector, domain) + "."
	zones := map[string]string{
		"empty": "rot.example. MX 10 mail.rot.example.\n",
		"half":  record(newE),
		// The RSA name holds the old RSA key: a copy-and-paste slip.
		"wrong": record(newE) + rsaName + " TXT " + dnsx.ZoneTXT(mustRecord(t, oldR)) + "\n",
		"both":  record(newE) + record(newR),
		"fail":  record(newE) + "$SERVFAIL " + rsaName + "\n",
		// A second record at the Ed25519 name, ours beside another.
		"two": record(newE) + record(newR) + dkim.KeyName(newE.Selector, domain) + `. TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="` + "\n",
	}
	resolvers := map[string]dnsx.Resolver{}
	for name, zone := range zones {
		srv := dnstest.Start(t, zone)
		c, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{CacheSize: -1, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		resolvers[name] = c
	}
	p := DKIMRotation{AutoActivate: true, PublishHold: 24 * time.Hour, Overlap: 48 * time.Hour}
	signers, err := s.DKIMSigners(ctx, domain) // cached: activation must drop them
	if err != nil || len(signers) != 2 || signers[0].Selector != oldR.Selector {
		t.Fatalf("signers before: %v, %v", signers, err)
	}
	manual := p
	manual.AutoActivate = false
	for _, step := range []struct {
		at    time.Duration
		world string
		p     DKIMRotation
		want  string // the events: kind [selectors], with a word of the detail
	}{
		{0, "empty", p, ""},
		{time.Hour, "half", p, "seen-published [" + newE.Selector + "]"},
		{2 * time.Hour, "wrong", p, "record-differs [" + newR.Selector + "] another key"},
		{3 * time.Hour, "both", p, "seen-published [" + newR.Selector + "]"},
		{4 * time.Hour, "fail", p, "lookup-failed [" + newR.Selector + "] temporary"},
		{26 * time.Hour, "both", p, ""}, // the RSA record was first seen at 3h
		{26 * time.Hour, "half", p, "unpublished [" + newR.Selector + "] no such name"},
		{27 * time.Hour, "both", p, "seen-published [" + newR.Selector + "]"},
		{51 * time.Hour, "two", p, "record-differs [" + newE.Selector + "] another key"},
		{52 * time.Hour, "both", p, "seen-published [" + newE.Selector + "]"},
		{76 * time.Hour, "both", manual, ""},
		{76 * time.Hour, "both", p, "activated [" + newE.Selector + " " + newR.Selector + "]"},
		{124 * time.Hour, "both", p, ""}, // retiring until exactly now
		{124*time.Hour + time.Second, "empty", p, "deleted [" + old[0].Selector + " " + old[1].Selector + "] retired"},
	} {
		now = t0.Add(step.at)
		events, err := s.AdvanceDKIM(ctx, resolvers[step.world], step.p)
		if err != nil {
			t.Fatalf("%s at %s: %v", step.world, step.at, err)
		}
		if got := renderEvents(events, domain); !matchEvents(got, step.want) {
			t.Errorf("%s at %s: events %q, want %q", step.world, step.at, got, step.want)
		}
		if step.at == 27*time.Hour {
			keys, _ := s.DKIMKeys(ctx, domain)
			since := map[string]time.Time{}
			for _, k := range keys {
				since[k.Selector] = k.PublishedSince
			}
			if !since[newE.Selector].Equal(t0.Add(time.Hour)) || !since[newR.Selector].Equal(now) {
				t.Errorf("published since at 27h: %v", since)
			}
		}
		if step.at == 76*time.Hour && !step.p.AutoActivate {
			if keys, _ := s.DKIMKeys(ctx, domain); keys[2].State != store.DKIMPending {
				t.Errorf("activated with auto activation off: %+v", keys[2])
			}
		}
		if step.at == 76*time.Hour && step.p.AutoActivate {
			if e := events[len(events)-1]; !e.RetireAt.Equal(now.Add(48*time.Hour)) || !slices.Equal(e.Replaced, []string{old[0].Selector, old[1].Selector}) {
				t.Errorf("activation replaced %v until %v", e.Replaced, e.RetireAt)
			}
			signers, err := s.DKIMSigners(ctx, domain)
			if err != nil || len(signers) != 2 || signers[0].Selector != newR.Selector || signers[1].Selector != newE.Selector {
				t.Errorf("signers after activation: %v, %v", signers, err)
			}
		}
	}
	keys, err := s.Store.ListDKIMKeys(ctx, domain)
	if err != nil || len(keys) != 2 || keys[0].State != store.DKIMActive || keys[0].Selector != newE.Selector {
		t.Errorf("keys at the end: %+v, %v", keys, err)
	}
}

// renderEvents writes events as "kind [selectors] detail", one per line.
func renderEvents(events []DKIMEvent, domain string) string {
	var lines []string
	for _, e := range events {
		if e.Domain != domain {
			lines = append(lines, "domain "+e.Domain)
		}
		lines = append(lines, strings.TrimSpace(fmt.Sprintf("%s %v %s", e.Kind, e.Selectors, e.Detail)))
	}
	return strings.Join(lines, "\n")
}

// matchEvents compares rendered events with "kind [selectors] word": the
// detail need only contain the word.
func matchEvents(got, want string) bool {
	if got == "" || want == "" {
		return got == want
	}
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	if len(g) != len(w) {
		return false
	}
	for i := range g {
		head, word, _ := strings.Cut(w[i], "] ")
		if !strings.HasPrefix(g[i], strings.TrimSuffix(head, "]")+"]") || !strings.Contains(g[i][len(head):], word) {
			return false
		}
	}
	return true
}

func mustRecord(t *testing.T, k store.DKIMKey) string {
	t.Helper()
	rec, err := DKIMRecord(k)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}
