package account

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/store"
)

// fakeGuard records what Login tells it and refuses what it is told to.
type fakeGuard struct {
	mu       sync.Mutex
	admitErr error
	admitted []string // "ip address"
	recorded []string // "ip address ok|fail"
}

func (g *fakeGuard) Admit(ctx context.Context, ip netip.Addr, address string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.admitted = append(g.admitted, ip.String()+" "+address)
	return g.admitErr
}

func (g *fakeGuard) Record(ctx context.Context, ip netip.Addr, address string, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	outcome := "fail"
	if ok {
		outcome = "ok"
	}
	g.recorded = append(g.recorded, ip.String()+" "+address+" "+outcome)
}

// loginFixture is an account with 2-step verification on and app
// passwords, and one without.
type loginFixture struct {
	s                    *Service
	guard                *fakeGuard
	twoStep, plain, off  store.Account
	imapOnly, everywhere string // app passwords of twoStep
	imapOnlyID           int64
	plainApp             string // an app password of plain, for smtp
}

const mainPassword = "a long enough password"

func newLoginFixture(t *testing.T) *loginFixture {
	t.Helper()
	ctx := t.Context()
	f := &loginFixture{s: newService(t), guard: &fakeGuard{}}
	f.s.Guard = f.guard
	f.twoStep = mustAccount(t, f.s, "two@example.com")
	f.plain = mustAccount(t, f.s, "plain@example.com")
	f.off = mustAccount(t, f.s, "off@example.com")
	if _, err := f.s.EnableTwoStep(ctx, "two@example.com"); err != nil {
		t.Fatal(err)
	}
	p, pw, err := f.s.AddAppPassword(ctx, "two@example.com", "mail app", []string{"imap"})
	if err != nil {
		t.Fatal(err)
	}
	f.imapOnly, f.imapOnlyID = pw, p.ID
	if _, f.everywhere, err = f.s.AddAppPassword(ctx, "two@example.com", "everywhere", []string{"imap", "pop3", "smtp"}); err != nil {
		t.Fatal(err)
	}
	if _, f.plainApp, err = f.s.AddAppPassword(ctx, "plain@example.com", "printer", []string{"smtp"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.s.AddAppPassword(ctx, "off@example.com", "x", []string{"imap"}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Store.SetDisabled(ctx, "off@example.com", true); err != nil {
		t.Fatal(err)
	}
	return f
}

// lastLog returns the newest login log entry.
func lastLog(t *testing.T, s *Service) store.LogEntry {
	t.Helper()
	es, err := s.Store.QueryLog(t.Context(), store.LogQuery{Kind: "login", Limit: 1})
	if err != nil || len(es) != 1 {
		t.Fatalf("QueryLog = %+v, %v", es, err)
	}
	return es[0]
}

func TestLogin(t *testing.T) {
	f := newLoginFixture(t)
	ip := netip.MustParseAddr("192.0.2.7")
	tests := []struct {
		name      string
		protocol  string
		user      string
		password  string
		ok        bool
		appID     bool   // logged in with an app password
		accountID int64  // of the log entry
		detail    string // the log entry's Detail holds this
	}{
		{"2-step: main password on IMAP", "imap", "two@example.com", mainPassword, false, false, f.twoStep.ID, reasonTwoStep},
		{"2-step: main password on POP3", "pop3", "two@example.com", mainPassword, false, false, f.twoStep.ID, reasonTwoStep},
		{"2-step: main password on SMTP", "smtp", "two@example.com", mainPassword, false, false, f.twoStep.ID, reasonTwoStep},
		{"2-step: main password on the web", "web", "two@example.com", mainPassword, true, false, f.twoStep.ID, "password"},
		{"2-step: wrong password", "imap", "two@example.com", "not the password", false, false, f.twoStep.ID, "wrong password"},
		{"app password in scope", "imap", "two@example.com", f.imapOnly, true, true, f.twoStep.ID, `app password "mail app"`},
		{"app password typed in capitals with spaces", "imap", "TWO@example.com", strings.ToUpper(strings.ReplaceAll(f.imapOnly, "-", " ")), true, true, f.twoStep.ID, `app password "mail app"`},
		{"app password without hyphens", "imap", "two@example.com", strings.ReplaceAll(f.imapOnly, "-", ""), true, true, f.twoStep.ID, `app password "mail app"`},
		{"app password out of scope: POP3", "pop3", "two@example.com", f.imapOnly, false, false, f.twoStep.ID, `app password "mail app" is not for pop3`},
		{"app password out of scope: SMTP", "smtp", "two@example.com", f.imapOnly, false, false, f.twoStep.ID, `app password "mail app" is not for smtp`},
		{"app password never for the web", "web", "two@example.com", f.everywhere, false, false, f.twoStep.ID, "not for the web"},
		{"app password on every protocol: POP3", "pop3", "two@example.com", f.everywhere, true, true, f.twoStep.ID, `app password "everywhere"`},
		{"app password on every protocol: SMTP", "smtp", "two@example.com", f.everywhere, true, true, f.twoStep.ID, `app password "everywhere"`},
		{"another account's app password", "smtp", "two@example.com", f.plainApp, false, false, f.twoStep.ID, "wrong password"},
		{"no 2-step: main password", "imap", "plain@example.com", mainPassword, true, false, f.plain.ID, "password"},
		{"no 2-step: app password", "smtp", "plain@example.com", f.plainApp, true, true, f.plain.ID, `app password "printer"`},
		{"no 2-step: app password out of scope", "imap", "plain@example.com", f.plainApp, false, false, f.plain.ID, "is not for imap"},
		{"disabled account", "imap", "off@example.com", mainPassword, false, false, f.off.ID, "account is disabled"},
		{"unknown user", "imap", "nobody@example.com", mainPassword, false, false, 0, `user "nobody@example.com": no such account`},
		{"unknown user, app password shape", "imap", "nobody@example.com", f.imapOnly, false, false, 0, "no such account"},
		{"invalid address", "pop3", "not an address", "x", false, false, 0, `user "not an address": invalid address`},
		{"empty user", "smtp", "", "", false, false, 0, "invalid address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.guard.admitted, f.guard.recorded = nil, nil
			l, err := f.s.Login(t.Context(), Attempt{Protocol: tc.protocol, Username: tc.user, Password: tc.password,
				RemoteIP: ip, Client: "TestClient/1.0", Method: "PLAIN"})
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrAuthFailed)) {
				t.Fatalf("Login = %+v, %v; want ok %v", l, err, tc.ok)
			}
			if tc.ok && (l.Account.ID != tc.accountID || (l.AppPassword != 0) != tc.appID) {
				t.Errorf("Login = %+v, want account %d, app password %v", l, tc.accountID, tc.appID)
			}
			e := lastLog(t, f.s)
			outcome := map[bool]string{true: "ok", false: "fail"}[tc.ok]
			if e.AccountID != tc.accountID || e.Outcome != outcome || e.Protocol != tc.protocol || e.RemoteIP != ip ||
				e.Client != "TestClient/1.0" || e.Method != "PLAIN" || !strings.Contains(e.Detail, tc.detail) {
				t.Errorf("log entry %+v, want account %d, outcome %s, detail %q", e, tc.accountID, outcome, tc.detail)
			}
			if tc.password != "" && strings.Contains(e.Detail, tc.password) || strings.Contains(e.Detail, mainPassword) {
				t.Errorf("log entry shows a password: %q", e.Detail)
			}
			address := loginAddress(tc.user)
			if len(f.guard.admitted) != 1 || f.guard.admitted[0] != "192.0.2.7 "+address {
				t.Errorf("Guard.Admit calls %q", f.guard.admitted)
			}
			if want := "192.0.2.7 " + address + " " + outcome; len(f.guard.recorded) != 1 || f.guard.recorded[0] != want {
				t.Errorf("Guard.Record calls %q, want %q", f.guard.recorded, want)
			}
		})
	}
}

func TestLoginRecordsAppPasswordUse(t *testing.T) {
	f := newLoginFixture(t)
	ctx := t.Context()
	when := time.Date(2026, 11, 22, 15, 4, 5, 0, time.UTC)
	fixedClock(f.s, when)
	ip := netip.MustParseAddr("2001:db8::5")
	l, err := f.s.Login(ctx, Attempt{Protocol: "imap", Username: "two@example.com", Password: f.imapOnly, RemoteIP: ip})
	if err != nil || l.AppPassword != f.imapOnlyID {
		t.Fatalf("Login = %+v, %v", l, err)
	}
	ps, err := f.s.ListAppPasswords(ctx, "two@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		used := p.ID == f.imapOnlyID
		if used != p.LastUsed.Equal(when) || used != (p.LastIP == ip) {
			t.Errorf("app password %q: last used %v from %v", p.Name, p.LastUsed, p.LastIP)
		}
	}
	// After revoking, it no longer works.
	if _, err := f.s.RevokeAppPassword(ctx, "two@example.com", "mail app"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Login(ctx, Attempt{Protocol: "imap", Username: "two@example.com", Password: f.imapOnly, RemoteIP: ip}); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("revoked app password: %v", err)
	}
	// Turning 2-step verification off gives the main password back to IMAP.
	if err := f.s.DisableTwoStep(ctx, "two@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Login(ctx, Attempt{Protocol: "imap", Username: "two@example.com", Password: mainPassword}); err != nil {
		t.Errorf("main password after disabling 2-step verification: %v", err)
	}
}

func TestLoginGuard(t *testing.T) {
	f := newLoginFixture(t)
	ctx := t.Context()
	ip := netip.MustParseAddr("198.51.100.9")

	f.guard.admitErr = fmt.Errorf("5 failures: %w", ErrLockedOut)
	_, err := f.s.Login(ctx, Attempt{Protocol: "imap", Username: "Plain@example.com", Password: mainPassword, RemoteIP: ip})
	if !errors.Is(err, ErrAuthFailed) || !errors.Is(err, ErrLockedOut) {
		t.Errorf("locked out: %v, want ErrAuthFailed and ErrLockedOut", err)
	}
	if e := lastLog(t, f.s); e.AccountID != f.plain.ID || e.Outcome != "fail" || e.Detail != "locked out" {
		t.Errorf("log entry of a lock-out: %+v", e)
	}
	if len(f.guard.recorded) != 0 {
		t.Errorf("a refused attempt was recorded: %q", f.guard.recorded)
	}
	_, err = f.s.Login(ctx, Attempt{Protocol: "imap", Username: "nobody@example.com", Password: "x", RemoteIP: ip})
	if e := lastLog(t, f.s); !errors.Is(err, ErrLockedOut) || e.AccountID != 0 || !strings.Contains(e.Detail, "locked out") {
		t.Errorf("lock-out of an unknown user: %v, log %+v", err, e)
	}

	// A wait cut short by the caller is no failure of the client's.
	f.guard.admitErr = context.DeadlineExceeded
	before := lastLog(t, f.s)
	_, err = f.s.Login(ctx, Attempt{Protocol: "imap", Username: "plain@example.com", Password: mainPassword, RemoteIP: ip})
	if err == nil || errors.Is(err, ErrAuthFailed) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Admit failing: %v", err)
	}
	if e := lastLog(t, f.s); e.ID != before.ID {
		t.Errorf("an attempt the guard did not admit was logged: %+v", e)
	}

	// Without a Guard, nothing is asked.
	f.s.Guard = nil
	if _, err := f.s.Login(ctx, Attempt{Protocol: "imap", Username: "plain@example.com", Password: mainPassword, RemoteIP: ip}); err != nil {
		t.Errorf("without a guard: %v", err)
	}
}

// TestLoginCostsAHashForEveryone checks that every refusal of a password,
// for an unknown user too, waits for a turn to hash: with the one turn
// taken, each attempt must wait for it, and so give up when its context
// ends.
func TestLoginCostsAHashForEveryone(t *testing.T) {
	f := newLoginFixture(t)
	f.s.MaxConcurrentChecks = 1
	release, err := f.s.acquireCheck(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	for _, a := range []Attempt{
		{Protocol: "imap", Username: "nobody@example.com", Password: "wrong"},
		{Protocol: "imap", Username: "nobody@example.com", Password: f.imapOnly},
		{Protocol: "imap", Username: "not an address", Password: "wrong"},
		{Protocol: "imap", Username: "plain@example.com", Password: "wrong"},
		{Protocol: "imap", Username: "two@example.com", Password: "wrong"},
		{Protocol: "pop3", Username: "off@example.com", Password: "wrong"},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		_, err := f.s.Login(ctx, a)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Login(%s, %q) = %v, want it waiting for a hash", a.Username, a.Password, err)
		}
	}
}

// BenchmarkLogin measures a login by the main password (argon2id with the
// default parameters, the login cache off) and by an app password (one
// SHA-256 and an index lookup), each with its log entry.
func BenchmarkLogin(b *testing.B) {
	for _, tc := range []struct {
		name string
		app  bool
	}{{"MainPassword", false}, {"AppPassword", true}} {
		b.Run(tc.name, func(b *testing.B) {
			s := newService(b)
			s.Hasher, s.LoginCacheTTL = DefaultHasher(), -1
			ctx := b.Context()
			if _, err := s.AddAccount(ctx, "user@example.com", mainPassword, 0); err != nil {
				b.Fatal(err)
			}
			password := mainPassword
			if tc.app {
				var err error
				if _, password, err = s.AddAppPassword(ctx, "user@example.com", "bench", []string{"imap"}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Login(ctx, Attempt{Protocol: "imap", Username: "user@example.com", Password: password}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestLoginReverseDNS records the forward-confirmed reverse DNS name of
// each attempt's address, and nothing for a name that does not lead back.
func TestLoginReverseDNS(t *testing.T) {
	s := newService(t)
	mustAccount(t, s, "user@example.com")
	zone := dnsx.NewZone()
	for _, d := range []string{"2.0.192.in-addr.arpa", "example.net"} {
		if err := zone.AddDomain(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := zone.Add("5.2.0.192.in-addr.arpa. PTR Host.Example.NET.\n" +
		"6.2.0.192.in-addr.arpa. PTR liar.example.net.\n" +
		"host.example.net. A 192.0.2.5\n" +
		"liar.example.net. A 198.51.100.1\n"); err != nil {
		t.Fatal(err)
	}
	s.Resolver = dnsx.NewStub(zone, nil)
	for _, tt := range []struct {
		ip, want string
	}{
		{"192.0.2.5", "host.example.net"},
		{"::ffff:192.0.2.5", "host.example.net"},
		{"192.0.2.6", ""}, // its name resolves elsewhere
		{"192.0.2.7", ""}, // no name at all
	} {
		_, err := s.Login(t.Context(), Attempt{Protocol: "imap", Username: "user@example.com",
			Password: "wrong password", RemoteIP: netip.MustParseAddr(tt.ip), Method: "LOGIN"})
		if !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("Login from %s: %v", tt.ip, err)
		}
		if got := lastLog(t, s).ReverseDNS; got != tt.want {
			t.Errorf("reverse DNS of %s recorded as %q, want %q", tt.ip, got, tt.want)
		}
	}
}

// trustForgettingGuard is a Guard that also keeps trusted networks.
type trustForgettingGuard struct {
	fakeGuard
	forgot []string
}

func (g *trustForgettingGuard) ForgetTrust(_ context.Context, address string) error {
	g.forgot = append(g.forgot, address)
	return nil
}

// TestPasswordChangeForgetsTrust: after a password change no network keeps
// the trust the Guard gave it, for a thief may have logged in from it.
func TestPasswordChangeForgetsTrust(t *testing.T) {
	s := newService(t)
	mustAccount(t, s, "user@example.com")
	g := &trustForgettingGuard{}
	s.Guard = g
	if err := s.SetPassword(t.Context(), "User@Example.com", "another long passphrase"); err != nil {
		t.Fatal(err)
	}
	if len(g.forgot) != 1 || g.forgot[0] != "user@example.com" {
		t.Errorf("trust forgotten for %q, want user@example.com once", g.forgot)
	}
}
