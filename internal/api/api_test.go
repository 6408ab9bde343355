package api

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store/teststore"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/sessions"
)

func TestLogin(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	if a := c.do("GET", "me", ""); a.status != http.StatusUnauthorized || a.str("error") == "" {
		t.Fatalf("GET /me before login: %d %s", a.status, a.raw)
	}
	wrong := c.do("POST", "session", jsonBody(map[string]string{"address": testAddress, "password": "not the password"}))
	unknown := c.do("POST", "session", jsonBody(map[string]string{"address": "nobody@example.org", "password": testPassword}))
	if wrong.status != http.StatusUnauthorized || wrong.raw != unknown.raw || wrong.status != unknown.status {
		t.Errorf("wrong password answered %d %s, unknown user %d %s: want the same 401", wrong.status, wrong.raw, unknown.status, unknown.raw)
	}
	a := c.login(testPassword, "").must(t, http.StatusCreated)
	if len(c.csrf) < 43 || a.str("address") != testAddress {
		t.Errorf("login answered %s", a.raw)
	}
	cookie := a.header.Get("Set-Cookie")
	for _, want := range []string{CookieName + "=", "Path=/", "Secure", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("Set-Cookie %q lacks %q", cookie, want)
		}
	}
	if strings.Contains(cookie, "Domain=") {
		t.Errorf("Set-Cookie %q has a Domain: __Host- forbids it", cookie)
	}
	me := c.do("GET", "me", "").must(t, http.StatusOK)
	if me.str("address") != testAddress || me.str("auth") != "session" || me.body["two_step"] != false || me.body["step_up_until"] != nil {
		t.Errorf("GET /me: %s", me.raw)
	}
	// The session ID is kept hashed: the cookie's value is nowhere in the store.
	value := strings.TrimPrefix(strings.SplitN(cookie, ";", 2)[0], CookieName+"=")
	if _, err := e.store.GetValue(t.Context(), nsSession, value); err == nil {
		t.Error("the session is stored under its ID, not its hash")
	}
	if _, err := e.store.GetValue(t.Context(), nsSession, hashKey(value)); err != nil {
		t.Errorf("the session is not stored under its hash: %v", err)
	}

	act := c.do("GET", "activity?limit=10", "").must(t, http.StatusOK)
	entries, _ := act.body["entries"].([]any)
	var outcomes []string
	for _, x := range entries {
		m := x.(map[string]any)
		if m["protocol"] == "web" {
			outcomes = append(outcomes, m["outcome"].(string))
			if m["client"] != "apitest/1.0" {
				t.Errorf("logged client %v, want the User-Agent", m["client"])
			}
		}
	}
	if !slices.Equal(outcomes, []string{"ok", "fail"}) {
		t.Errorf("the log has web logins %v, want ok then fail (newest first): %s", outcomes, act.raw)
	}

	c.do("DELETE", "session", "").must(t, http.StatusOK)
	c.do("GET", "me", "").must(t, http.StatusUnauthorized)
}

func TestLoginTwoStep(t *testing.T) {
	e := newEnv(t)
	ts, err := e.accounts.EnableTwoStep(t.Context(), testAddress)
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	if a := c.login(testPassword, "").must(t, http.StatusUnauthorized); a.body["code_required"] != true {
		t.Errorf("no code: %s, want code_required", a.raw)
	}
	c.login(testPassword, "000000").must(t, http.StatusUnauthorized)
	// A right code with a wrong password tells nothing about the code.
	bad := c.do("POST", "session", jsonBody(map[string]string{"address": testAddress, "password": "wrong password!", "code": e.code(ts.Secret)}))
	if bad.status != http.StatusUnauthorized || bad.body["code_required"] != nil {
		t.Errorf("wrong password with a code: %s", bad.raw)
	}
	c.login(testPassword, e.code(ts.Secret)).must(t, http.StatusCreated)
	c.do("GET", "me", "").must(t, http.StatusOK)

	r := e.client()
	r.login(testPassword, ts.RecoveryCodes[0]).must(t, http.StatusCreated)
	e.client().login(testPassword, ts.RecoveryCodes[0]).must(t, http.StatusUnauthorized) // used up

	es, err := e.accounts.Activity(t.Context(), testAddress, time.Time{}, 50)
	if err != nil {
		t.Fatal(err)
	}
	var methods []string
	for _, en := range es {
		if en.Method == "totp" || en.Method == "recovery-code" {
			methods = append(methods, en.Method+" "+en.Outcome)
		}
	}
	want := []string{"recovery-code fail", "recovery-code ok", "totp ok", "totp fail"}
	if !slices.Equal(methods, want) {
		t.Errorf("the log's 2-step entries are %v, want %v", methods, want)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.login(testPassword, "").must(t, http.StatusCreated)
	body := jsonBody(map[string]string{"password": testPassword})
	tests := []struct {
		name    string
		headers []string
		want    int
	}{
		{"no token", []string{"X-CSRF-Token", ""}, http.StatusForbidden},
		{"wrong token", []string{"X-CSRF-Token", "not-the-token"}, http.StatusForbidden},
		{"another origin", []string{"Origin", "https://evil.example"}, http.StatusForbidden},
		{"cross-site fetch", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"same-site fetch", []string{"Sec-Fetch-Site", "same-site"}, http.StatusForbidden},
		{"right token", nil, http.StatusOK},
		{"right token, same origin", []string{"Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin"}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := c.do("POST", "stepup", body, tt.headers...)
			if a.status != tt.want || (tt.want != http.StatusOK && a.str("error") == "") {
				t.Errorf("status %d %s, want %d", a.status, a.raw, tt.want)
			}
		})
	}
	// Reading needs no token; ending the session does.
	c.do("GET", "me", "", "X-CSRF-Token", "").must(t, http.StatusOK)
	c.do("DELETE", "session", "", "X-CSRF-Token", "").must(t, http.StatusForbidden)
	// A login from another site is refused before any password is checked.
	e.client().do("POST", "session", jsonBody(map[string]string{"address": testAddress, "password": testPassword}),
		"Origin", "https://evil.example").must(t, http.StatusForbidden)
}

func TestBearerToken(t *testing.T) {
	e := newEnv(t)
	toks := &Tokens{Store: e.store, Now: e.clock.Now}
	tok, secret, err := toks.Add(t.Context(), e.acc, "backup script", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := toks.Add(t.Context(), e.acc, "backup script", 0); err == nil {
		t.Error("a second token of the same name was made")
	}
	c := e.client()
	c.bearer = secret
	me := c.do("GET", "me", "").must(t, http.StatusOK)
	if me.str("auth") != "token" || me.str("token") != "backup script" {
		t.Errorf("GET /me with a token: %s", me.raw)
	}
	// No CSRF token needed: a browser never sends a bearer token by itself.
	c.stepUp("").must(t, http.StatusOK)
	c.do("POST", "app-passwords", `{"name":"phone","scopes":["imap"]}`).must(t, http.StatusCreated)
	list, err := toks.List(t.Context(), e.acc.ID)
	if err != nil || len(list) != 1 || list[0].LastUsed == nil || list[0].LastIP != "127.0.0.1" {
		t.Errorf("tokens listed %+v, %v: want one, used from 127.0.0.1", list, err)
	}

	for _, bad := range []string{"Bearer sp_wrong", "Basic abc", "Bearer", "Bearer " + strings.Repeat("x", 300)} {
		a := c.do("GET", "me", "", "Authorization", bad)
		if a.status != http.StatusUnauthorized || a.str("error") == "" {
			t.Errorf("Authorization %.20q: %d %s", bad, a.status, a.raw)
		}
	}
	e.clock.advance(25 * time.Hour)
	c.do("GET", "me", "").must(t, http.StatusUnauthorized)
	e.clock.advance(-25 * time.Hour)
	c.do("GET", "me", "").must(t, http.StatusOK)
	if _, err := toks.Revoke(t.Context(), e.acc.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	c.do("GET", "me", "").must(t, http.StatusUnauthorized)
}

// TestStepUp: every risky call is refused without a fresh step-up, allowed
// within account.StepUpWindow of one, and refused again after.
func TestStepUp(t *testing.T) {
	risky := []struct{ method, path, body string }{
		{"POST", "app-passwords", `{"name":"phone","scopes":["imap","smtp"]}`},
		{"PUT", "recovery-address", `{"recovery_address":"ana@elsewhere.example"}`},
		{"POST", "2fa", ``},
		{"DELETE", "2fa", ``},
		{"PUT", "password", `{"password":"another long password"}`},
	}
	e := newEnv(t)
	c := e.client()
	c.login(testPassword, "").must(t, http.StatusCreated)
	for _, r := range risky {
		a := c.do(r.method, r.path, r.body).must(t, http.StatusForbidden)
		if a.body["step_up_required"] != true {
			t.Errorf("%s %s without step-up: %s", r.method, r.path, a.raw)
		}
	}
	c.do("POST", "stepup", `{"password":"not the password"}`).must(t, http.StatusUnauthorized)
	su := c.stepUp("").must(t, http.StatusOK)
	if su.str("step_up_until") == "" {
		t.Errorf("step-up answered %s", su.raw)
	}
	if c.do("GET", "me", "").body["step_up_until"] == nil {
		t.Error("GET /me does not show the step-up")
	}
	e.clock.advance(account.StepUpWindow - time.Second)
	ap := c.do("POST", "app-passwords", risky[0].body).must(t, http.StatusCreated)
	if len(ap.str("password")) < 24 {
		t.Errorf("new app password answered %s", ap.raw)
	}
	e.clock.advance(2 * time.Second)
	for _, r := range risky {
		a := c.do(r.method, r.path, r.body).must(t, http.StatusForbidden)
		if a.body["step_up_required"] != true {
			t.Errorf("%s %s after the window: %s", r.method, r.path, a.raw)
		}
	}

	// Stepped up again, each works.
	c.stepUp("").must(t, http.StatusOK)
	c.do("PUT", "recovery-address", risky[1].body).must(t, http.StatusOK)
	if got := c.do("GET", "recovery-address", "").must(t, http.StatusOK).str("recovery_address"); got != "ana@elsewhere.example" {
		t.Errorf("recovery address %q", got)
	}
	two := c.do("POST", "2fa", "").must(t, http.StatusCreated)
	if !strings.HasPrefix(two.str("otpauth_uri"), "otpauth://totp/") || len(two.body["recovery_codes"].([]any)) != account.RecoveryCodes {
		t.Errorf("POST /2fa answered %s", two.raw)
	}
	c.do("POST", "2fa", "").must(t, http.StatusConflict)
	// With 2-step on, step-up needs a code too.
	e.clock.advance(time.Minute)
	c.stepUp("").must(t, http.StatusUnauthorized)
	c.stepUp(e.code(two.str("secret"))).must(t, http.StatusOK)
	c.do("DELETE", "2fa", "").must(t, http.StatusOK)
	c.do("DELETE", "2fa", "").must(t, http.StatusConflict)
}

// TestSignOutOthers: "sign out all other sessions" ends the account's other
// web session and its live protocol session at once, leaves the current
// session and another account's session working, and can revoke the app
// passwords.
func TestSignOutOthers(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if _, _, err := e.accounts.AddAppPassword(ctx, testAddress, "phone", []string{"imap"}); err != nil {
		t.Fatal(err)
	}
	mine, other := e.client(), e.client()
	mine.login(testPassword, "").must(t, http.StatusCreated)
	other.login(testPassword, "").must(t, http.StatusCreated)
	ended := make(chan struct{})
	e.reg.Add(sessions.Info{AccountID: e.acc.ID, Address: testAddress, Protocol: "imap"}, func() { close(ended) })
	spared := false
	e.reg.Add(sessions.Info{AccountID: e.acc.ID + 100, Protocol: "imap"}, func() { spared = true })

	list := mine.do("GET", "sessions", "").must(t, http.StatusOK)
	ss := list.body["sessions"].([]any)
	var protocols []string
	current := 0
	for _, x := range ss {
		m := x.(map[string]any)
		protocols = append(protocols, m["protocol"].(string))
		if m["current"] == true {
			current++
		}
	}
	slices.Sort(protocols)
	if !slices.Equal(protocols, []string{"imap", "web", "web"}) || current != 1 {
		t.Errorf("GET /sessions: %s", list.raw)
	}

	a := mine.do("POST", "sessions/signout", `{"revoke_app_passwords": true}`).must(t, http.StatusOK)
	if a.body["sessions_ended"] != float64(2) || a.body["app_passwords_revoked"] != float64(1) {
		t.Errorf("signout answered %s", a.raw)
	}
	select {
	case <-ended:
	case <-time.After(time.Second):
		t.Error("the IMAP session was not ended within 1 s")
	}
	other.do("GET", "me", "").must(t, http.StatusUnauthorized)
	mine.do("GET", "me", "").must(t, http.StatusOK)
	if spared {
		t.Error("another account's session was ended")
	}
	if ps, _ := e.accounts.ListAppPasswords(ctx, testAddress); len(ps) != 0 {
		t.Errorf("app passwords left: %+v", ps)
	}
	if got := e.reg.List(e.acc.ID); len(got) != 1 || got[0].Protocol != "web" {
		t.Errorf("registry after signout: %+v, want the current web session", got)
	}
}

// TestSessionExpiry: a session ends when idle too long, and at its
// absolute lifetime however busy.
func TestSessionExpiry(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.login(testPassword, "").must(t, http.StatusCreated)
	e.clock.advance(DefaultIdleTimeout - time.Minute)
	c.do("GET", "me", "").must(t, http.StatusOK)
	if got := e.reg.List(e.acc.ID); len(got) != 1 || got[0].Protocol != "web" {
		t.Errorf("registry while signed in: %+v", got)
	}
	e.clock.advance(DefaultIdleTimeout + time.Second)
	c.do("GET", "me", "").must(t, http.StatusUnauthorized)
	if got := e.reg.List(e.acc.ID); len(got) != 0 {
		t.Errorf("registry after the session expired: %+v, want none", got)
	}

	c.login(testPassword, "").must(t, http.StatusCreated)
	for range DefaultMaxLifetime / (DefaultIdleTimeout / 2) {
		c.do("GET", "me", "").must(t, http.StatusOK)
		e.clock.advance(DefaultIdleTimeout / 2)
	}
	e.clock.advance(time.Second)
	c.do("GET", "me", "").must(t, http.StatusUnauthorized)
}

// TestChangePassword: the other sessions end, the caller's session is
// replaced by a new one, and the new password works.
func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	mine, other := e.client(), e.client()
	mine.login(testPassword, "").must(t, http.StatusCreated)
	other.login(testPassword, "").must(t, http.StatusCreated)
	mine.stepUp("").must(t, http.StatusOK)
	mine.do("PUT", "password", `{"password":"short"}`).must(t, http.StatusBadRequest) // too short
	a := mine.do("PUT", "password", `{"password":"another long password"}`).must(t, http.StatusOK)
	old := mine.csrf
	mine.csrf = a.str("csrf_token")
	if mine.csrf == "" || mine.csrf == old {
		t.Fatalf("PUT /password answered %s, want a new CSRF token", a.raw)
	}
	other.do("GET", "me", "").must(t, http.StatusUnauthorized)
	mine.do("GET", "me", "").must(t, http.StatusOK)
	if me := mine.do("GET", "me", ""); me.body["step_up_until"] != nil {
		t.Errorf("the new session kept the step-up: %s", me.raw)
	}
	e.client().login(testPassword, "").must(t, http.StatusUnauthorized)
	e.client().do("POST", "session", `{"address":"ana@example.org","password":"another long password"}`).must(t, http.StatusCreated)
}

func TestAppPasswords(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.login(testPassword, "").must(t, http.StatusCreated)
	c.stepUp("").must(t, http.StatusOK)
	p := c.do("POST", "app-passwords", `{"name":"laptop","scopes":["imap","smtp"]}`).must(t, http.StatusCreated)
	c.do("POST", "app-passwords", `{"name":"laptop","scopes":["imap"]}`).must(t, http.StatusConflict)
	list := c.do("GET", "app-passwords", "").must(t, http.StatusOK)
	ps := list.body["app_passwords"].([]any)
	if len(ps) != 1 || ps[0].(map[string]any)["password"] != nil {
		t.Errorf("GET /app-passwords: %s (the password must not be listed)", list.raw)
	}
	id := p.body["id"].(float64)
	c.do("DELETE", "app-passwords/999", "").must(t, http.StatusNotFound)
	// Digits are an ID, never a name.
	c.do("POST", "app-passwords", `{"name":"999","scopes":["pop3"]}`).must(t, http.StatusCreated)
	c.do("DELETE", "app-passwords/999", "").must(t, http.StatusNotFound)
	if ps, _ := e.accounts.ListAppPasswords(t.Context(), testAddress); len(ps) != 2 {
		t.Errorf("app passwords: %+v, want 2", ps)
	}
	c.do("DELETE", "app-passwords/"+strings.TrimSuffix(strings.TrimSuffix(jsonBody(id), "\n"), ".0"), "").must(t, http.StatusOK)
	if ps, _ := e.accounts.ListAppPasswords(t.Context(), testAddress); len(ps) != 1 || ps[0].Name != "999" {
		t.Errorf("left: %+v, want the one named 999", ps)
	}
}

func TestRoutingErrors(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{"GET", "nothing-here", http.StatusNotFound},
		{"PATCH", "me", http.StatusMethodNotAllowed},
		{"GET", "session", http.StatusMethodNotAllowed},
		{"GET", "app-passwords/1", http.StatusMethodNotAllowed},
	} {
		a := c.do(tt.method, tt.path, "")
		if a.status != tt.want || a.str("error") == "" {
			t.Errorf("%s %s: %d %s, want %d with a JSON error", tt.method, tt.path, a.status, a.raw, tt.want)
		}
	}
}

// A token of a deleted account is refused.
func TestTokenOfDeletedAccount(t *testing.T) {
	e := newEnv(t)
	toks := &Tokens{Store: e.store, Now: e.clock.Now}
	_, secret, err := toks.Add(t.Context(), e.acc, "x", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.accounts.DeleteAccount(t.Context(), testAddress); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.bearer = secret
	c.do("GET", "me", "").must(t, http.StatusUnauthorized)
}

// countingGuard locks an address out after three failures.
type countingGuard struct {
	mu       sync.Mutex
	failures map[string]int
	admitted int
}

func (g *countingGuard) Admit(_ context.Context, _ netip.Addr, address string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.admitted++
	if g.failures[address] >= 3 {
		return fmt.Errorf("%s: %w", address, account.ErrLockedOut)
	}
	return nil
}

func (g *countingGuard) Record(_ context.Context, _ netip.Addr, address string, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !ok {
		g.failures[address]++
	}
}

// TestGuard: wrong 2-step codes count as failures for the brute-force
// defence, like wrong passwords and wrong step-ups, and a locked-out
// address gets 429 even with everything right.
func TestGuard(t *testing.T) {
	e := newEnv(t)
	g := &countingGuard{failures: map[string]int{}}
	e.accounts.Guard = g
	ts, err := e.accounts.EnableTwoStep(t.Context(), testAddress)
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.login(testPassword, e.code(ts.Secret)).must(t, http.StatusCreated)
	c.do("POST", "stepup", `{"password":"wrong password!"}`).must(t, http.StatusUnauthorized)
	e.clock.advance(30 * time.Second)
	e.client().login(testPassword, "000000").must(t, http.StatusUnauthorized)
	e.client().login(testPassword, "111111").must(t, http.StatusUnauthorized)
	a := e.client().login(testPassword, e.code(ts.Secret)).must(t, http.StatusTooManyRequests)
	if a.str("error") == "" {
		t.Errorf("locked out: %s", a.raw)
	}
	c.stepUp(e.code(ts.Secret)).must(t, http.StatusTooManyRequests)
	if g.failures[testAddress] != 3 || g.admitted < 6 {
		t.Errorf("the guard saw %d failures in %d admissions, want 3 in at least 6", g.failures[testAddress], g.admitted)
	}
}

// TestRestart: web sessions, their step-ups and tokens are in the store,
// so a restarted server honours them, lists them and signs them out.
func TestRestart(t *testing.T) {
	for name, open := range teststore.Backends(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnvStore(t, open(t))
			mine, other := e.client(), e.client()
			mine.login(testPassword, "").must(t, http.StatusCreated)
			other.login(testPassword, "").must(t, http.StatusCreated)
			mine.stepUp("").must(t, http.StatusOK)
			_, secret, err := (&Tokens{Store: e.store, Now: e.clock.Now}).Add(t.Context(), e.acc, "script", 0)
			if err != nil {
				t.Fatal(err)
			}

			e2 := e.restart(open(t))
			mine.e, other.e = e2, e2 // cookies go by host, not port
			tok := e2.client()
			tok.bearer = secret
			tok.do("GET", "me", "").must(t, http.StatusOK)
			if me := mine.do("GET", "me", "").must(t, http.StatusOK); me.body["step_up_until"] == nil {
				t.Errorf("the step-up did not survive the restart: %s", me.raw)
			}
			list := mine.do("GET", "sessions", "").must(t, http.StatusOK)
			if n := len(list.body["sessions"].([]any)); n != 2 {
				t.Errorf("after the restart GET /sessions lists %d sessions, want 2: %s", n, list.raw)
			}
			// other has not been seen by this process: it is ended all the same.
			if a := mine.do("POST", "sessions/signout", "").must(t, http.StatusOK); a.body["sessions_ended"] != float64(1) {
				t.Errorf("signout answered %s", a.raw)
			}
			other.do("GET", "me", "").must(t, http.StatusUnauthorized)
			mine.do("GET", "me", "").must(t, http.StatusOK)
		})
	}
}
