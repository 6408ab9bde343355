package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/sessions"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

const (
	testAddress  = "ana@example.org"
	testPassword = "a long enough password"
)

// clock is a fake clock the tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is an API on a real store, served over real HTTPS on loopback.
type env struct {
	t        testing.TB
	api      *Server
	accounts *account.Service
	store    store.Store
	reg      *sessions.Registry
	clock    *clock
	srv      *httptest.Server
	acc      store.Account
}

func newEnv(t testing.TB) *env {
	t.Helper()
	st, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newEnvStore(t, st)
}

// newEnvStore is newEnv on a store of the caller's.
func newEnvStore(t testing.TB, st store.Store) *env {
	t.Helper()
	ctx := t.Context()
	// The fake clock starts now, so that what store.KV keeps (expiring by
	// the real clock) lives as long as the test.
	clk := &clock{now: time.Now().Truncate(time.Second)}
	svc := &account.Service{Store: st, Hasher: account.Hasher{Time: 1, MemoryKiB: 64, Threads: 1},
		MinPasswordLength: 8, Now: clk.Now}
	if _, err := svc.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	acc, err := svc.AddAccount(ctx, testAddress, testPassword, 0)
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, svc, st, clk, acc)
}

// serve starts an API server, as a server process would: its own
// registry and listener.
func serve(t testing.TB, svc *account.Service, st store.Store, clk *clock, acc store.Account) *env {
	reg := &sessions.Registry{}
	a := &Server{Accounts: svc, Store: st, Sessions: reg, Now: clk.Now}
	svc.EndSessions = func(id int64) { reg.SignOut(id, 0); a.EndSessions(id) }
	svc.Revoked = func(id, app int64) { reg.EndAppPassword(id, app) }
	mux := http.NewServeMux()
	mux.Handle(Prefix, a.Handler())
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, api: a, accounts: svc, store: st, reg: reg, clock: clk, srv: srv, acc: acc}
}

// restart is the same instance started again on st, a new connection to
// its store: a new process with nothing in memory.
func (e *env) restart(st store.Store) *env {
	svc := &account.Service{Store: st, Hasher: e.accounts.Hasher, MinPasswordLength: 8, Now: e.clock.Now}
	return serve(e.t, svc, st, e.clock, e.acc)
}

// client is one HTTPS client with its own cookies and CSRF token.
type client struct {
	e    *env
	http *http.Client
	csrf string
	// bearer, when set, is sent as the Authorization.
	bearer string
}

func (e *env) client() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	// srv.Client() is one client for all: each gets its own jar.
	hc := &http.Client{Transport: e.srv.Client().Transport, Jar: jar}
	return &client{e: e, http: hc}
}

// answer is a response: its status and JSON body.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (a answer) str(key string) string {
	s, _ := a.body[key].(string)
	return s
}

// do sends a request with body (JSON when it is not "") and the client's
// credentials; extra headers are name, value pairs.
func (c *client) do(method, path, body string, headers ...string) answer {
	c.e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(c.e.t.Context(), method, c.e.srv.URL+Prefix+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	req.Header.Set("User-Agent", "apitest/1.0")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			c.e.t.Fatalf("%s %s: the answer is not a JSON object: %v\n%s", method, path, err, raw)
		}
	}
	return a
}

// must checks an answer's status.
func (a answer) must(t *testing.T, status int) answer {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.raw)
	}
	return a
}

// login signs the client in, keeping its CSRF token.
func (c *client) login(password, code string) answer {
	c.e.t.Helper()
	a := c.do("POST", "session", jsonBody(map[string]string{"address": testAddress, "password": password, "code": code}))
	if a.status == http.StatusCreated {
		c.csrf = a.str("csrf_token")
	}
	return a
}

// stepUp steps the client's session or token up.
func (c *client) stepUp(code string) answer {
	c.e.t.Helper()
	return c.do("POST", "stepup", jsonBody(map[string]string{"password": testPassword, "code": code}))
}

func jsonBody(v any) string {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		panic(err)
	}
	return b.String()
}

// code is what an authenticator app shows now for secret.
func (e *env) code(secret string) string {
	e.t.Helper()
	c, err := totp.GenerateCodeCustom(secret, e.clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}
