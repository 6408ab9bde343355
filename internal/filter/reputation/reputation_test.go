package reputation

import (
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/teststore"
)

// backends returns, per storage backend (teststore.Backends), an opener
// of a new, empty store: each test case starts from nothing.
func backends(t *testing.T) map[string]func(t *testing.T) store.Store {
	bs := map[string]func(t *testing.T) store.Store{}
	for name := range teststore.Backends(t) {
		bs[name] = func(t *testing.T) store.Store { return teststore.Backends(t)[name](t) }
	}
	return bs
}

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// at is an observation recorded some time after t0, repeated n times.
type at struct {
	after time.Duration
	n     int
	obs   Observation
}

func obs(class, source string, sender string, ip string, links ...string) Observation {
	o := Observation{SenderDomain: sender, LinkDomains: links, Class: class, Source: source}
	if ip != "" {
		o.IP = netip.MustParseAddr(ip)
	}
	return o
}

// want is one expected finding: its name, its score within 0.01 (NaN:
// any), and the reason.
type want struct {
	name   string
	score  float64
	reason string
}

var anyScore = math.NaN()

func TestAssess(t *testing.T) {
	const day = 24 * time.Hour
	hl := store.ReputationHalfLife
	tests := []struct {
		name    string
		history []at
		query   Query
		when    time.Duration // after t0
		want    []want
		// newInstall leaves out the record of three days before t0 that
		// the other cases start with: link domains are not yet watched.
		newInstall bool
	}{{
		name:    "reported spam",
		history: []at{{0, 8, obs(Spam, FromUser, "bad.test", "")}, {0, 2, obs(Ham, FromVerdict, "bad.test", "")}},
		query:   Query{SenderDomain: "bad.test"},
		want:    []want{{"sender_domain_bad", 2.42, "bad.test: 8 reported spam, 2 ham"}},
	}, {
		name:    "unknown keys say nothing",
		history: []at{{0, 8, obs(Spam, FromUser, "bad.test", "")}},
		query:   Query{SenderDomain: "other.test", IP: netip.MustParseAddr("192.0.2.1")},
	}, {
		name:    "too little evidence",
		history: []at{{0, 2, obs(Spam, FromVerdict, "bad.test", "")}},
		query:   Query{SenderDomain: "bad.test"},
	}, {
		// The filter's own verdicts cannot push past VerdictCap, however many.
		name:    "verdicts alone are capped",
		history: []at{{0, 1000, obs(Spam, FromVerdict, "loud.test", "")}},
		query:   Query{SenderDomain: "loud.test"},
		want:    []want{{"sender_domain_bad", 1.5, "loud.test: 1000 spam"}},
	}, {
		// Ten people's corrections outweigh a thousand verdicts.
		name:    "people correct the verdicts",
		history: []at{{0, 1000, obs(Spam, FromVerdict, "news.test", "")}, {0, 10, obs(Ham, FromUser, "news.test", "")}},
		query:   Query{SenderDomain: "news.test"},
		want:    []want{{"sender_domain_good", -2.14, "news.test: 10 reported not spam, 1000 spam"}},
	}, {
		name: "undo takes a report back",
		history: []at{{0, 5, obs(Spam, FromUser, "bad.test", "")},
			{time.Hour, 5, func() Observation { o := obs(Spam, FromUser, "bad.test", ""); o.Undo = true; return o }()}},
		query: Query{SenderDomain: "bad.test"},
		when:  time.Hour,
	}, {
		name:    "reports fade",
		history: []at{{0, 10, obs(Spam, FromUser, "old.test", "")}},
		query:   Query{SenderDomain: "old.test"},
		when:    6 * hl, // 50 weighted → 0.78, under MinEvidence
	}, {
		name:    "half-life",
		history: []at{{0, 10, obs(Spam, FromUser, "old.test", "")}},
		query:   Query{SenderDomain: "old.test"},
		when:    hl,
		want:    []want{{"sender_domain_bad", 3.33, "old.test: 5 reported spam"}},
	}, {
		name:    "the /24 is one network",
		history: []at{{0, 4, obs(Spam, FromUser, "", "198.51.100.7")}},
		query:   Query{IP: netip.MustParseAddr("198.51.100.200")},
		want:    []want{{"network_bad", 2.4, "198.51.100.0/24: 4 reported spam"}},
	}, {
		name:    "IPv4-mapped IPv6 is IPv4",
		history: []at{{0, 4, obs(Spam, FromUser, "", "::ffff:198.51.100.7")}},
		query:   Query{IP: netip.MustParseAddr("198.51.100.9")},
		want:    []want{{"network_bad", 2.4, "198.51.100.0/24: 4 reported spam"}},
	}, {
		name:    "the /64 is one network",
		history: []at{{0, 4, obs(Phish, FromUser, "", "2001:db8:1:2::99")}},
		query:   Query{IP: netip.MustParseAddr("2001:db8:1:2:ffff::1")},
		want:    []want{{"network_bad", 2.4, "2001:db8:1:2::/64: 4 reported phishing"}},
	}, {
		name:    "another /24 is another network",
		history: []at{{0, 4, obs(Spam, FromUser, "", "198.51.100.7")}},
		query:   Query{IP: netip.MustParseAddr("198.51.101.7")},
	}, {
		name:  "link domain never seen",
		query: Query{LinkDomains: []string{"https-login.evil.test"}},
		want:  []want{{"fresh_link_domain", 1.5, "evil.test: never seen before"}},
	}, {
		name:    "link domain first seen 2 h ago",
		history: []at{{0, 1, obs(Ham, FromVerdict, "", "", "www.new.test")}},
		query:   Query{LinkDomains: []string{"login.new.test", "LOGIN.NEW.TEST."}},
		when:    2 * time.Hour,
		want:    []want{{"fresh_link_domain", 1.5, "new.test: first seen 2 h ago"}},
	}, {
		name:    "fresh link domains make one finding",
		history: []at{{0, 1, obs(Ham, FromVerdict, "", "", "new.test", "old.test")}, {-3 * day, 1, obs(Ham, FromVerdict, "", "", "old.test")}},
		query:   Query{LinkDomains: []string{"a.new.test", "brand.test", "old.test"}},
		when:    30 * time.Minute,
		want:    []want{{"fresh_link_domain", 1.5, "new.test: first seen 30 min ago; brand.test: never seen before"}},
	}, {
		name:    "link domain seen days ago",
		history: []at{{0, 1, obs(Ham, FromVerdict, "", "", "old.test")}},
		query:   Query{LinkDomains: []string{"old.test"}},
		when:    3 * day,
	}, {
		name:    "phishing link domain",
		history: []at{{0, 3, obs(Phish, FromUser, "", "", "pay.evil.test")}},
		query:   Query{LinkDomains: []string{"evil.test", "192.0.2.1", "localhost"}},
		when:    3 * day,
		want:    []want{{"link_domain_bad", 2.95, "evil.test: 3 reported phishing"}},
	}, {
		name:    "a good link domain proves nothing",
		history: []at{{0, 10, obs(Ham, FromUser, "", "", "good.test")}},
		query:   Query{LinkDomains: []string{"good.test"}},
		when:    3 * day,
	}, {
		name: "all keys at once",
		history: []at{{0, 3, obs(Spam, FromUser, "bad.test", "203.0.113.5", "evil.test")},
			{0, 2, obs(Ham, FromUser, "bad.test", "", "")}},
		query: Query{SenderDomain: "bad.test", IP: netip.MustParseAddr("203.0.113.6"), LinkDomains: []string{"evil.test"}},
		when:  time.Hour,
		want: []want{
			{"sender_domain_bad", anyScore, "bad.test: 3 reported spam, 2 reported not spam"},
			{"network_bad", anyScore, "203.0.113.0/24: 3 reported spam"},
			{"link_domain_bad", anyScore, "evil.test: 3 reported spam"},
			{"fresh_link_domain", 1.5, "evil.test: first seen 1 h ago"},
		},
	}}
	for bname, open := range backends(t) {
		for _, tc := range tests {
			t.Run(bname+"/"+tc.name, func(t *testing.T) {
				st := open(t)
				ctx := t.Context()
				history := tc.history
				if !tc.newInstall {
					history = append([]at{{-3 * day, 1, obs(Ham, FromVerdict, "", "", "background.test")}}, history...)
				}
				for _, h := range history {
					r := New(st, Policy{}, func() time.Time { return t0.Add(h.after) })
					for range h.n {
						if err := r.Record(ctx, h.obs); err != nil {
							t.Fatal(err)
						}
					}
				}
				r := New(st, Policy{}, func() time.Time { return t0.Add(tc.when) })
				a, err := r.Assess(ctx, tc.query)
				if err != nil {
					t.Fatal(err)
				}
				checkFindings(t, a.Findings, tc.want)
			})
		}
	}
}

func checkFindings(t *testing.T, got []Finding, want []want) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("findings %+v, want %+v", got, want)
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || g.Reason != w.reason || (!math.IsNaN(w.score) && math.Abs(g.Score-w.score) > 0.01) {
			t.Errorf("finding %d: %+v, want %+v", i, g, w)
		}
	}
}

// TestCorrespondent: an authenticated From the account wrote to is
// trusted; the same From unauthenticated, or one that only wrote to us,
// or one written to long ago, is not.
func TestCorrespondent(t *testing.T) {
	for bname, open := range backends(t) {
		t.Run(bname, func(t *testing.T) {
			st := open(t)
			ctx := t.Context()
			if _, err := st.CreateDomain(ctx, "home.test"); err != nil {
				t.Fatal(err)
			}
			acct, err := st.CreateAccount(ctx, store.NewAccount{Address: "me@home.test", PasswordHash: "x",
				Mailboxes: []store.NewMailbox{{Name: "INBOX"}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.RecordSend(ctx, acct.ID, t0, []string{"friend@friend.test"}, 100); err != nil {
				t.Fatal(err)
			}
			if _, err := st.RecordSend(ctx, acct.ID, t0.Add(-400*24*time.Hour), []string{"lost@friend.test"}, 100); err != nil {
				t.Fatal(err)
			}
			if err := st.AddCorrespondent(ctx, acct.ID, "stranger@spam.test", t0, 100); err != nil {
				t.Fatal(err)
			}
			r := New(st, Policy{}, func() time.Time { return t0.Add(3 * time.Hour) })
			for _, tc := range []struct {
				name string
				q    Query
				want []want
			}{
				{"trusted", Query{AccountID: acct.ID, SenderDomain: "friend.test", FromAddress: "Friend@Friend.test"},
					[]want{{"correspondent", -5, "friend@friend.test: you wrote to them 3 h ago"}}},
				{"unauthenticated", Query{AccountID: acct.ID, FromAddress: "friend@friend.test"}, nil},
				{"another domain authenticated", Query{AccountID: acct.ID, SenderDomain: "evil.test", FromAddress: "friend@friend.test"}, nil},
				{"only received from", Query{AccountID: acct.ID, SenderDomain: "spam.test", FromAddress: "stranger@spam.test"}, nil},
				{"wrote long ago", Query{AccountID: acct.ID, SenderDomain: "friend.test", FromAddress: "lost@friend.test"}, nil},
				{"no account", Query{SenderDomain: "friend.test", FromAddress: "friend@friend.test"}, nil},
				{"another account", Query{AccountID: acct.ID + 1, SenderDomain: "friend.test", FromAddress: "friend@friend.test"}, nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					a, err := r.Assess(ctx, tc.q)
					if err != nil {
						t.Fatal(err)
					}
					checkFindings(t, a.Findings, tc.want)
				})
			}
		})
	}
}

func TestRecordInvalid(t *testing.T) {
	st := backends(t)["sqlite"](t)
	r := New(st, Policy{}, nil)
	for _, o := range []Observation{
		{SenderDomain: "a.test", Class: "eggs", Source: FromUser},
		{SenderDomain: "a.test", Class: Spam, Source: "rumour"},
	} {
		if err := r.Record(t.Context(), o); err == nil {
			t.Errorf("Record(%+v) = nil, want an error", o)
		}
	}
	// Names that are not domains are skipped, not stored.
	long := strings.Repeat("a", 300) + ".test"
	if err := r.Record(t.Context(), Observation{SenderDomain: "a b", LinkDomains: []string{long, "", "x@y"}, Class: Spam, Source: FromUser}); err != nil {
		t.Errorf("Record of unusable names: %v", err)
	}
}

func TestPrune(t *testing.T) {
	st := backends(t)["sqlite"](t)
	now := t0
	r := New(st, Policy{KeepFor: 10 * 24 * time.Hour}, func() time.Time { return now })
	if err := r.Record(t.Context(), obs(Spam, FromUser, "gone.test", "")); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(11 * 24 * time.Hour)
	if err := r.Record(t.Context(), obs(Spam, FromUser, "kept.test", "")); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Prune(t.Context()); n != 1 || err != nil {
		t.Errorf("Prune = %d, %v; want 1", n, err)
	}
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct{ host, want string }{
		{"www.example.co.uk", "example.co.uk"},
		{"Login.Evil.Test.", "evil.test"},
		{"evil.test", "evil.test"},
		{"test", ""},
		{"192.0.2.1", ""},
		{"[2001:db8::1]", ""},
		{"", ""},
		{"a b.test", ""},
	} {
		if got := LinkDomain(tc.host); got != tc.want {
			t.Errorf("LinkDomain(%q) = %q, want %q", tc.host, got, tc.want)
		}
	}
	links := make([]string, 0, 2*MaxLinkDomains)
	for i := range 2 * MaxLinkDomains {
		links = append(links, "d"+strings.Repeat("x", i)+".test")
	}
	if ks := keys("", netip.Addr{}, links); len(ks) != MaxLinkDomains {
		t.Errorf("%d keys, want %d", len(ks), MaxLinkDomains)
	}
}
