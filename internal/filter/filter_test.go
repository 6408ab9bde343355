package filter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/delivery"
)

// fake is a check with fixed scores, or an error, or a delay.
type fake struct {
	name    string
	scores  []Score
	err     error
	delay   time.Duration
	network bool
	panics  bool
}

func (f fake) Name() string  { return f.name }
func (f fake) Network() bool { return f.network }
func (f fake) Check(ctx context.Context, in *Input) ([]Score, error) {
	if f.panics {
		panic("boom")
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return f.scores, f.err
}

// accountFake scores by recipient.
type accountFake map[string][]Score

func (accountFake) Name() string { return "personal" }
func (a accountFake) CheckAccount(_ context.Context, _ *Input, rcpt Recipient) ([]Score, error) {
	return a[rcpt.Address], nil
}

func sc(name string, w float64) Score {
	return Score{Name: name, Weight: w, Reason: "because of " + name}
}

func testInput() *Input {
	env := &delivery.Envelope{ID: "m1", MailFrom: "x@far.example", RemoteIP: netip.MustParseAddr("192.0.2.7")}
	return &Input{Env: env, Message: nil}
}

func names(scores []Score) []string {
	var out []string
	for _, s := range scores {
		out = append(out, s.Name)
	}
	return out
}

// TestScoring: weights add up, thresholds decide, configured weights
// replace or scale, failures score nothing or defer.
func TestScoring(t *testing.T) {
	thresholds := Filter{RejectScore: 15, JunkScore: 6, WarnScore: 3, Timeout: 200 * time.Millisecond}
	tests := []struct {
		name    string
		checks  []Check
		weights map[string]float64
		onError map[string]OnError
		total   float64
		action  Action
		scores  []string
		failed  string // a substring of Result.Failed
	}{
		{name: "nothing", action: Pass},
		{name: "below warn", checks: []Check{fake{name: "a", scores: []Score{sc("x", 1), sc("y", 1.5)}}},
			total: 2.5, action: Pass, scores: []string{"a.x", "a.y"}},
		{name: "warn", checks: []Check{fake{name: "a", scores: []Score{sc("x", 3)}}}, total: 3, action: Warn, scores: []string{"a.x"}},
		{name: "junk", checks: []Check{fake{name: "a", scores: []Score{sc("x", 3)}}, fake{name: "b", scores: []Score{sc("", 3.5)}}},
			total: 6.5, action: Junk, scores: []string{"a.x", "b"}},
		{name: "reject", checks: []Check{fake{name: "a", scores: []Score{sc("x", 20)}}}, total: 20, action: Reject, scores: []string{"a.x"}},
		{name: "negative weight lowers", checks: []Check{fake{name: "a", scores: []Score{sc("x", 8), sc("trusted", -4)}}},
			total: 4, action: Warn, scores: []string{"a.x", "a.trusted"}},
		{name: "weight replaced by full name", checks: []Check{fake{name: "a", scores: []Score{sc("x", 1)}}},
			weights: map[string]float64{"a.x": 7, "a": 100}, total: 7, action: Junk, scores: []string{"a.x"}},
		{name: "weight scaled by check name", checks: []Check{fake{name: "a", scores: []Score{sc("x", 1), sc("y", 2)}}},
			weights: map[string]float64{"a": 2}, total: 6, action: Junk, scores: []string{"a.x", "a.y"}},
		{name: "check turned off by weight 0", checks: []Check{fake{name: "a", scores: []Score{sc("x", 10)}}},
			weights: map[string]float64{"a": 0}, total: 0, action: Pass, scores: []string{"a.x"}},
		{name: "error scores nothing", checks: []Check{fake{name: "a", scores: []Score{sc("x", 10)}, err: errors.New("down")}, fake{name: "b", scores: []Score{sc("y", 1)}}},
			total: 1, action: Pass, scores: []string{"b.y"}, failed: "a: down"},
		{name: "error tempfails", checks: []Check{fake{name: "clamd", err: errors.New("connection refused")}},
			onError: map[string]OnError{"clamd": Tempfail}, action: Defer, failed: "clamd: connection refused"},
		{name: "panic is an error", checks: []Check{fake{name: "a", panics: true}, fake{name: "b", scores: []Score{sc("y", 4)}}},
			total: 4, action: Warn, scores: []string{"b.y"}, failed: "a: panic: boom"},
		{name: "timeout scores nothing", checks: []Check{fake{name: "slow", network: true, delay: time.Hour, scores: []Score{sc("x", 10)}}, fake{name: "b", scores: []Score{sc("y", 1)}}},
			total: 1, action: Pass, scores: []string{"b.y"}, failed: "slow: "},
		{name: "timeout tempfails", checks: []Check{fake{name: "slow", network: true, delay: time.Hour}},
			onError: map[string]OnError{"slow": Tempfail}, action: Defer, failed: "deadline exceeded"},
		{name: "local check past the deadline", checks: []Check{fake{name: "stuck", delay: time.Hour}, fake{name: "after", scores: []Score{sc("y", 1)}}},
			action: Pass, failed: "after: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := thresholds
			f.Checks, f.Weights, f.OnError = tt.checks, tt.weights, tt.onError
			res := f.score(t.Context(), testInput())
			if res.Total != tt.total || res.Action != tt.action || !slices.Equal(names(res.Scores), tt.scores) {
				t.Errorf("total %v action %v scores %v, want %v %v %v", res.Total, res.Action, names(res.Scores), tt.total, tt.action, tt.scores)
			}
			if !strings.Contains(res.Failed, tt.failed) || (tt.failed == "") != (res.Failed == "") {
				t.Errorf("failed %q, want it to hold %q", res.Failed, tt.failed)
			}
		})
	}
}

// TestNetworkChecksRunConcurrently: three network checks of 300ms each
// finish within a 600ms deadline only when they run side by side.
func TestNetworkChecksRunConcurrently(t *testing.T) {
	f := &Filter{Timeout: 600 * time.Millisecond, JunkScore: 6}
	for _, n := range []string{"a", "b", "c"} {
		f.Checks = append(f.Checks, fake{name: n, network: true, delay: 300 * time.Millisecond, scores: []Score{sc("x", 2)}})
	}
	start := time.Now()
	res := f.score(t.Context(), testInput())
	if res.Failed != "" || res.Total != 6 || res.Action != Junk {
		t.Fatalf("result %+v", res)
	}
	if d := time.Since(start); d > 550*time.Millisecond {
		t.Errorf("took %v: the checks ran one after the other", d)
	}
}

const spamMsg = "X-Sealpost-Score: -100 (pass)\r\nFrom: Bank <service@bank.example>\r\nTo: ann@example.org\r\n" +
	"x-sealpost-reasons: forged\r\n continued\r\nSubject: verify\r\nDate: Sun, 22 Nov 2026 12:00:00 +0000\r\n" +
	"Message-ID: <1@bank.example>\r\n\r\nVerify your account now.\r\n"

func hookEnv(rcpts ...string) *delivery.Envelope {
	env := &delivery.Envelope{ID: "m1", MailFrom: "x@evil.example", Helo: "evil.example", RemoteIP: netip.MustParseAddr("192.0.2.7")}
	for _, r := range rcpts {
		env.Recipients = append(env.Recipients, delivery.Recipient{Address: r})
	}
	return env
}

// TestHook: the delivery.Hook's verdicts: reject with the reasons,
// defer, and per account Junk, warning with banner, or pass; forged
// fields dropped; our users and exempt recipients not filtered.
func TestHook(t *testing.T) {
	banner, err := ParseBanner(DefaultBanner)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		score    float64
		env      *delivery.Envelope
		exempt   []string
		account  []Score
		action   delivery.Action
		reply    string // in the SMTP reply text
		folder   string
		header   string // the X-Sealpost-Score field
		rewrite  bool
		noFilter bool
	}{
		{name: "reject", score: 20, env: hookEnv("ann@example.org"), action: delivery.Reject, reply: "message refused as spam: because of x"},
		{name: "junk", score: 7, env: hookEnv("ann@example.org"), folder: `\Junk`, header: "X-Sealpost-Score: 7 (junk)"},
		{name: "warn", score: 4, env: hookEnv("ann@example.org"), header: "X-Sealpost-Score: 4 (warn)", rewrite: true},
		{name: "pass", score: 1, env: hookEnv("ann@example.org"), header: "X-Sealpost-Score: 1 (pass)"},
		{name: "account check lowers", score: 7, account: []Score{sc("trusted", -5)}, env: hookEnv("ann@example.org"), header: "X-Sealpost-Score: 2 (pass)"},
		{name: "account check raises past reject: Junk", score: 7, account: []Score{sc("model", 10)}, env: hookEnv("ann@example.org"),
			folder: `\Junk`, header: "X-Sealpost-Score: 17 (junk)"},
		{name: "our user", score: 20, env: func() *delivery.Envelope { e := hookEnv("ann@example.org"); e.Account = 3; return e }(), noFilter: true},
		{name: "queued locally", score: 20, env: func() *delivery.Envelope { e := hookEnv("ann@example.org"); e.RemoteIP = netip.Addr{}; return e }(), noFilter: true},
		{name: "all recipients exempt", score: 20, env: hookEnv("ann@example.org", "abuse@example.net"), exempt: []string{"ann@example.org", "example.net"}, noFilter: true},
		{name: "one recipient exempt: no reject", score: 20, env: hookEnv("ann@example.org", "abuse@example.net"), exempt: []string{"example.net"},
			folder: `\Junk`, header: "X-Sealpost-Score: 20 (junk)"},
		{name: "one recipient exempt", score: 7, env: hookEnv("ann@example.org", "abuse@example.net"), exempt: []string{"example.net"},
			folder: `\Junk`, header: "X-Sealpost-Score: 7 (junk)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Filter{RejectScore: 15, JunkScore: 6, WarnScore: 3, Banner: banner, ExemptRecipients: tt.exempt,
				Checks: []Check{fake{name: "fake", scores: []Score{sc("x", tt.score)}}}}
			if tt.account != nil {
				f.AccountChecks = []AccountCheck{accountFake{"ann@example.org": tt.account}}
			}
			v, err := f.Check(t.Context(), tt.env, delivery.Spool(spamMsg))
			if err != nil {
				t.Fatal(err)
			}
			if tt.env.RemoteIP.IsValid() != slices.Equal(v.Drop, []int{0, 3}) {
				t.Errorf("drop %v, want the forged fields 0 and 3 of mail received over SMTP, none of local mail", v.Drop)
			}
			if v.Action != tt.action {
				t.Fatalf("action %v, want %v", v.Action, tt.action)
			}
			if tt.action == delivery.Reject {
				if v.Code != 550 || v.Enhanced != "5.7.1" || !strings.Contains(v.Text, tt.reply) {
					t.Errorf("reply %d %s %q", v.Code, v.Enhanced, v.Text)
				}
				return
			}
			if tt.noFilter {
				if v.ForAccount != nil || len(v.Headers) != 0 {
					t.Errorf("filtered: %+v", v)
				}
				return
			}
			av, err := v.ForAccount(t.Context(), "ann@example.org")
			if err != nil {
				t.Fatal(err)
			}
			if av.Folder != tt.folder || len(av.Headers) == 0 || av.Headers[0] != tt.header || (av.Rewrite != nil) != tt.rewrite {
				t.Errorf("folder %q headers %q rewrite %v, want %q %q %v", av.Folder, av.Headers, av.Rewrite != nil, tt.folder, tt.header, tt.rewrite)
			}
			if tt.exempt != nil {
				ev, _ := v.ForAccount(t.Context(), "abuse@example.net")
				if ev.Folder != "" || ev.Headers[0] != "X-Sealpost-Score: 0 (pass)" {
					t.Errorf("exempt recipient: %+v", ev)
				}
			}
		})
	}
}

func TestDefer(t *testing.T) {
	f := &Filter{JunkScore: 6, Checks: []Check{fake{name: "clamd", err: errors.New("connection refused")}},
		OnError: map[string]OnError{"clamd": Tempfail}}
	v, err := f.Check(t.Context(), hookEnv("ann@example.org"), delivery.Spool(spamMsg))
	if err != nil {
		t.Fatal(err)
	}
	if v.Action != delivery.Defer || v.Code != 451 || v.Enhanced != "4.7.1" || !strings.Contains(v.Reason, "clamd") {
		t.Errorf("verdict %+v", v)
	}
}

// TestFields: the header fields show the score, the action and each
// score with its reason, folded one per line, and stay one field each
// whatever the reasons hold.
func TestFields(t *testing.T) {
	res := Result{Total: 7.456, Action: Junk, Scores: []Score{
		{Name: "a.x", Weight: 5, Reason: `claims to be "Ann"`},
		{Name: "b", Weight: 2.456, Reason: "line\r\nX-Injected: yes"},
	}}
	got := resultFields(res)
	want := []string{"X-Sealpost-Score: 7.46 (junk)",
		"X-Sealpost-Reasons: a.x=5 \"claims to be \\\"Ann\\\"\",\r\n\tb=2.46 \"line  X-Injected: yes\""}
	if !slices.Equal(got, want) {
		t.Errorf("fields\n%q\nwant\n%q", got, want)
	}
	if got := resultFields(Result{Scores: []Score{{Name: "p", Weight: 1, Reason: "from pаypal.example"}}}); got[1] != `X-Sealpost-Reasons: p=1 "from p\u0430ypal.example"` {
		t.Errorf("non-ASCII reason: %q", got[1])
	}
	if got := resultFields(Result{}); !slices.Equal(got, []string{"X-Sealpost-Score: 0 (pass)"}) {
		t.Errorf("no scores: %q", got)
	}
}

// TestVerdictLogged: every verdict is one INFO record with the id, the
// score, the action and each score.
func TestVerdictLogged(t *testing.T) {
	var buf bytes.Buffer
	f := &Filter{JunkScore: 6, Logger: slog.New(slog.NewJSONHandler(&buf, nil)),
		Checks: []Check{fake{name: "a", scores: []Score{sc("x", 4), sc("y", 3)}}}}
	v, err := f.Check(t.Context(), hookEnv("ann@example.org"), delivery.Spool(spamMsg))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.ForAccount(t.Context(), "ann@example.org"); err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Msg, Level, ID, Action, Account string
		Score                           float64
		Scores                          map[string]float64
	}
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	if rec.Level != "INFO" || rec.ID != "m1" || rec.Score != 7 || rec.Action != "junk" || rec.Account != "ann@example.org" ||
		rec.Scores["a.x"] != 4 || rec.Scores["a.y"] != 3 {
		t.Errorf("logged %s", buf.Bytes())
	}
}

func TestOurFields(t *testing.T) {
	tests := []struct {
		msg  string
		want []int
	}{
		{"A: 1\r\nX-Sealpost-Score: 1\r\n\r\nX-Sealpost-Score: body\r\n", []int{1}},
		{"x-sealpost-a: 1\n b\nX-Sealpostx: 2\nX-Sealpost-B: 3\n\n", []int{0, 2}},
		{"", nil},
		{"X-Sealpost-Score: no end", []int{0}},
	}
	for _, tt := range tests {
		if got := ourFields([]byte(tt.msg)); !slices.Equal(got, tt.want) {
			t.Errorf("ourFields(%q) = %v, want %v", tt.msg, got, tt.want)
		}
	}
}

// failingAccount is an account check that fails.
type failingAccount struct{}

func (failingAccount) Name() string { return "personal" }
func (failingAccount) CheckAccount(context.Context, *Input, Recipient) ([]Score, error) {
	return nil, errors.New("no model")
}

// TestAccountCheckFailure: a failing account check is logged and scores
// nothing; it never defers, even when OnError says Tempfail, since the
// message was accepted already.
func TestAccountCheckFailure(t *testing.T) {
	f := &Filter{JunkScore: 6, Checks: []Check{fake{name: "a", scores: []Score{sc("x", 7)}}},
		AccountChecks: []AccountCheck{failingAccount{}}, OnError: map[string]OnError{"personal": Tempfail}}
	v, err := f.Check(t.Context(), hookEnv("ann@example.org"), delivery.Spool(spamMsg))
	if err != nil {
		t.Fatal(err)
	}
	av, err := v.ForAccount(t.Context(), "ann@example.org")
	if err != nil || av.Folder != `\Junk` || av.Headers[0] != "X-Sealpost-Score: 7 (junk)" {
		t.Errorf("verdict %+v, %v", av, err)
	}
}

// memoCheck counts how often its shared work is done.
type memoCheck struct{ computed *int }

func (memoCheck) Name() string { return "memo" }
func (m memoCheck) work(in *Input) float64 {
	return in.Once("memo.features", func() any { *m.computed++; return 2.0 }).(float64)
}
func (m memoCheck) Check(_ context.Context, in *Input) ([]Score, error) {
	return []Score{sc("global", m.work(in))}, nil
}
func (m memoCheck) CheckAccount(_ context.Context, in *Input, _ Recipient) ([]Score, error) {
	return []Score{sc("personal", m.work(in))}, nil
}

// TestOnceAndOnVerdict: work shared through Input.Once is done once per
// message however many recipients; OnVerdict hears each account's
// verdict.
func TestOnceAndOnVerdict(t *testing.T) {
	n := 0
	m := memoCheck{&n}
	var heard []string
	f := &Filter{JunkScore: 6, Checks: []Check{m}, AccountChecks: []AccountCheck{m},
		OnVerdict: func(_ context.Context, _ *Input, account string, res Result) {
			heard = append(heard, account+"="+number(res.Total))
		}}
	v, err := f.Check(t.Context(), hookEnv("ann@example.org", "bob@example.org"), delivery.Spool(spamMsg))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"ann@example.org", "bob@example.org"} {
		if _, err := v.ForAccount(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
	if n != 1 || !slices.Equal(heard, []string{"ann@example.org=4", "bob@example.org=4"}) {
		t.Errorf("computed %d times, heard %q", n, heard)
	}
}

// arrivalCheck records when the filter said the message arrived.
type arrivalCheck struct{ got *time.Time }

func (arrivalCheck) Name() string { return "arrival" }
func (a arrivalCheck) Check(_ context.Context, in *Input) ([]Score, error) {
	*a.got = in.Message.Arrival
	return nil, nil
}

// TestArrival: mail over SMTP arrives now, whatever its own Received
// fields say; Arrived replaces the clock for collected mail.
func TestArrival(t *testing.T) {
	const msg = "Received: from a.example by b.example; Tue, 3 Sep 2002 10:00:00 +0000\r\nSubject: x\r\n\r\nbody\r\n"
	var got time.Time
	f := &Filter{JunkScore: 6, Checks: []Check{arrivalCheck{&got}}}
	before := time.Now()
	if _, err := f.Check(t.Context(), hookEnv("ann@example.org"), delivery.Spool(msg)); err != nil {
		t.Fatal(err)
	}
	if got.Before(before) || got.After(time.Now()) {
		t.Errorf("arrival %v, want now", got)
	}
	f.Arrived = func(in *Input) time.Time { return in.Message.Arrival }
	if _, err := f.Check(t.Context(), hookEnv("ann@example.org"), delivery.Spool(msg)); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2002, 9, 3, 10, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("arrival %v, want the Received field's %v", got, want)
	}
}
