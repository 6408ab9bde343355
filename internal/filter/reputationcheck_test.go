package filter

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/filter/reputation"
	"sealpost.dev/sealpost/internal/greylist"
)

// TestReputationCheck over a real SQLite store: an authenticated message
// from someone the recipient wrote to is trusted; the same From without
// DMARC pass is not (a forged friend); new link domains are fresh once
// link domains have been watched for a while.
func TestReputationCheck(t *testing.T) {
	_, st := newPipeline(t, &Filter{})
	ctx := t.Context()
	bob, err := st.GetAccount(ctx, "bob@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordSend(ctx, bob.ID, time.Now(), []string{"carol@partner.test"}, 100); err != nil {
		t.Fatal(err)
	}
	// Link domains have been watched for three days: fresh means fresh.
	past := reputation.New(st, reputation.Policy{}, func() time.Time { return time.Now().Add(-72 * time.Hour) })
	if err := past.Record(ctx, reputation.Observation{LinkDomains: []string{"old.test"}, Class: reputation.Ham, Source: reputation.FromVerdict}); err != nil {
		t.Fatal(err)
	}
	check := Reputation{Assessor: reputation.New(st, reputation.Policy{}, nil)}
	msg := "From: Carol <carol@partner.test>\r\nSubject: lunch\r\n\r\nSee https://www.new.test/menu\r\n"
	tests := []struct {
		name string
		auth *delivery.Auth
		want []string
	}{
		{name: "authenticated correspondent", auth: &delivery.Auth{DMARC: "pass", FromDomain: "partner.test"},
			want: []string{"fresh_link_domain", "correspondent"}},
		{name: "forged correspondent", auth: &delivery.Auth{DMARC: "fail", FromDomain: "partner.test"},
			want: []string{"fresh_link_domain"}},
		{name: "no authentication", want: []string{"fresh_link_domain"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &Input{Env: &delivery.Envelope{ID: "t", RemoteIP: netip.MustParseAddr("192.0.2.7")}, Auth: tt.auth,
				Message: content.Parse([]byte(msg))}
			scores, err := check.CheckAccount(ctx, in, Recipient{ID: bob.ID, Address: bob.Address})
			var got []string
			for _, s := range scores {
				got = append(got, s.Name)
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("scores %v, %v; want %v", scores, err, tt.want)
			}
		})
	}
}

// recorder collects observations.
type recorder struct {
	mu  sync.Mutex
	obs []reputation.Observation
}

func (r *recorder) Record(_ context.Context, o reputation.Observation) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.obs = append(r.obs, o)
	return nil
}

// TestRecordVerdicts: each message's first verdict is recorded once, in
// the background, as its class; warnings and deferrals are not; only a
// DMARC-passing sender domain is named.
func TestRecordVerdicts(t *testing.T) {
	phishScore := Score{Name: "phish.credential_harvest", Weight: 5, Warn: true}
	tests := []struct {
		name string
		res  []Result
		auth *delivery.Auth
		want string
	}{
		{name: "pass", res: []Result{{Action: Pass}}, want: reputation.Ham},
		{name: "junk twice: once", res: []Result{{Action: Junk, Scores: []Score{sc("x.y", 6)}}, {Action: Junk}}, want: reputation.Spam},
		{name: "reject, phishing", res: []Result{{Action: Reject, Scores: []Score{sc("x.y", 1), phishScore}}}, want: reputation.Phish},
		{name: "warn", res: []Result{{Action: Warn}}},
		{name: "passed with a warning", res: []Result{{Action: Pass, Scores: []Score{phishScore}}}},
		{name: "defer", res: []Result{{Action: Defer}}},
		{name: "authenticated", res: []Result{{Action: Pass}}, auth: &delivery.Auth{DMARC: "pass", FromDomain: "Partner.test"}, want: reputation.Ham},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			bg := NewBackground(10, nil)
			on := RecordVerdicts(rec, bg, nil)
			in := &Input{Env: &delivery.Envelope{ID: "t", RemoteIP: netip.MustParseAddr("192.0.2.7")}, Auth: tt.auth,
				Message: content.Parse([]byte("From: a@partner.test\r\n\r\nhttps://x.evil.test/a https://evil.test/b\r\n"))}
			for _, r := range tt.res {
				on(t.Context(), in, "ann@example.org", r)
			}
			bg.Close()
			if tt.want == "" {
				if len(rec.obs) != 0 {
					t.Errorf("recorded %+v", rec.obs)
				}
				return
			}
			if len(rec.obs) != 1 {
				t.Fatalf("recorded %+v, want one", rec.obs)
			}
			o := rec.obs[0]
			wantSender := ""
			if tt.auth != nil {
				wantSender = "partner.test"
			}
			if o.Class != tt.want || o.Source != reputation.FromVerdict || o.SenderDomain != wantSender ||
				!slices.Equal(o.LinkDomains, []string{"evil.test"}) || o.IP != netip.MustParseAddr("192.0.2.7") {
				t.Errorf("recorded %+v", o)
			}
		})
	}
}

// TestBackgroundBounded: a full queue drops and counts, never blocks;
// Close runs what was queued.
func TestBackgroundBounded(t *testing.T) {
	bg := NewBackground(2, nil)
	release := make(chan struct{})
	var mu sync.Mutex
	ran := 0
	job := func(context.Context) {
		<-release
		mu.Lock()
		ran++
		mu.Unlock()
	}
	queued := 0
	for range 10 {
		if bg.Go(job) {
			queued++
		}
	}
	close(release)
	bg.Close()
	if queued < 2 || queued > 3 || int64(10-queued) != bg.Dropped() || ran != queued {
		t.Errorf("queued %d, ran %d, dropped %d", queued, ran, bg.Dropped())
	}
	if bg.Go(job) {
		t.Error("queued after Close")
	}
}

// voucher records vouches.
type voucher struct {
	mu   sync.Mutex
	from []string
}

func (v *voucher) Vouch(_ context.Context, ip netip.Addr, from string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.from = append(v.from, ip.String()+" "+from)
	return nil
}

func TestVouchVerdicts(t *testing.T) {
	proved := &delivery.Auth{SPF: "pass", DKIM: []string{"mail.partner.test"}, DMARC: "pass", FromDomain: "partner.test"}
	tests := []struct {
		name    string
		auth    *delivery.Auth
		account string
		action  Action
		want    bool
	}{
		{name: "spf pass, aligned dkim", auth: proved, account: "ann@example.org", want: true},
		{name: "warned but delivered", auth: proved, account: "ann@example.org", action: Warn, want: true},
		{name: "junk", auth: proved, account: "ann@example.org", action: Junk},
		{name: "refused", auth: proved, action: Reject},
		{name: "dkim of another domain", auth: &delivery.Auth{SPF: "pass", DKIM: []string{"esp.test"}, FromDomain: "partner.test"}, account: "a@example.org"},
		{name: "spf fails", auth: &delivery.Auth{SPF: "fail", DKIM: []string{"partner.test"}, FromDomain: "partner.test"}, account: "a@example.org"},
		{name: "no authentication", account: "a@example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &voucher{}
			bg := NewBackground(10, nil)
			on := VouchVerdicts(v, bg, nil)
			in := &Input{Env: &delivery.Envelope{ID: "t", MailFrom: "bounce@partner.test", RemoteIP: netip.MustParseAddr("192.0.2.7")},
				Auth: tt.auth, Message: content.Parse([]byte("From: a@partner.test\r\n\r\nHi.\r\n"))}
			on(t.Context(), in, tt.account, Result{Action: tt.action})
			if tt.account != "" {
				on(t.Context(), in, "bob@example.org", Result{Action: tt.action}) // a second recipient: once
			}
			bg.Close()
			want := []string(nil)
			if tt.want {
				want = []string{"192.0.2.7 bounce@partner.test"}
			}
			if !slices.Equal(v.from, want) {
				t.Errorf("vouched %q, want %q", v.from, want)
			}
		})
	}
}

// TestVouchGreylist: over a real store, a proven sender's next mail from
// its network is not greylisted; another domain's still is.
func TestVouchGreylist(t *testing.T) {
	_, st := newPipeline(t, &Filter{})
	g := greylist.New(st, greylist.Options{SpareAligned: true})
	bg := NewBackground(10, nil)
	ip := netip.MustParseAddr("192.0.2.7")
	in := &Input{Env: &delivery.Envelope{ID: "t", MailFrom: "bounce@partner.test", RemoteIP: ip},
		Auth:    &delivery.Auth{SPF: "pass", DKIM: []string{"partner.test"}, DMARC: "pass", FromDomain: "partner.test"},
		Message: content.Parse([]byte("From: a@partner.test\r\n\r\nHi.\r\n"))}
	VouchVerdicts(g, bg, nil)(t.Context(), in, "ann@example.org", Result{Action: Pass})
	bg.Close()
	ok, _, err := g.Check(t.Context(), netip.MustParseAddr("192.0.2.99"), "news@partner.test", "bob@example.org")
	if err != nil || !ok {
		t.Errorf("the proven sender: greylisted (%v)", err)
	}
	if ok, _, _ := g.Check(t.Context(), ip, "x@stranger.test", "bob@example.org"); ok {
		t.Error("another sender domain: not greylisted")
	}
}

// TestVerdictsTeachReputation: over a real store, spam verdicts recorded
// in the background give the network a bad name at the next message,
// capped well below the Junk threshold (the filter must not teach itself
// into filing mail on its own say).
func TestVerdictsTeachReputation(t *testing.T) {
	_, st := newPipeline(t, &Filter{})
	rep := reputation.New(st, reputation.Policy{}, nil)
	bg := NewBackground(100, nil)
	on := RecordVerdicts(rep, bg, nil)
	newInput := func() *Input {
		return &Input{Env: &delivery.Envelope{ID: "t", RemoteIP: netip.MustParseAddr("198.51.100.7")},
			Message: content.Parse([]byte("From: a@spam.test\r\n\r\nBuy.\r\n"))}
	}
	for range 20 {
		on(t.Context(), newInput(), "ann@example.org", Result{Action: Junk, Scores: []Score{sc("x.y", 7)}})
	}
	bg.Close()
	if bg.Dropped() != 0 {
		t.Fatalf("%d dropped", bg.Dropped())
	}
	scores, err := Reputation{Assessor: rep}.CheckAccount(t.Context(), newInput(), Recipient{ID: 1})
	if err != nil || len(scores) != 1 || scores[0].Weight <= 0 || scores[0].Weight > reputation.DefaultPolicy.VerdictCap {
		t.Errorf("after 20 spam verdicts: %+v, %v", scores, err)
	}
}
