package server

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"
)

// apiClient is a browser-like client of the account API over the server's
// HTTPS listener, with its own cookies.
type apiClient struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func newAPIClient(t *testing.T, srv *Server) *apiClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: srv.cfg.Hostname}} //nolint:gosec // self-signed test certificate
	t.Cleanup(tr.CloseIdleConnections)
	return &apiClient{t: t, base: "https://" + srv.Addrs()["https"].String() + "/api/v1/",
		http: &http.Client{Transport: tr, Jar: jar, Timeout: 20 * time.Second}}
}

func (c *apiClient) do(method, path, body string) (int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		c.t.Fatalf("%s %s: not JSON: %q", method, path, raw)
	}
	return resp.StatusCode, v
}

func (c *apiClient) login(address, password string) {
	c.t.Helper()
	status, v := c.do("POST", "session", `{"address":"`+address+`","password":"`+password+`"}`)
	if status != http.StatusCreated {
		c.t.Fatalf("login: %d %v", status, v)
	}
	c.csrf, _ = v["csrf_token"].(string)
}

// TestAPISignOutOthers is "sign out all other sessions" through the API on
// the server's HTTPS listener: the account's live IMAP session in IDLE
// (over IMAPS) and its other web session end within a second, while the
// web session that asked keeps working and another account's IMAP session
// is left alone.
func TestAPISignOutOthers(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listeners.IMAPS = "127.0.0.1:0"
	srv, _, _ := startServer(t, cfg)
	ctx := t.Context()
	const password = "correct horse battery staple"
	for _, a := range []string{"ana@example.org", "bo@example.org"} {
		if _, err := srv.Accounts().AddAccount(ctx, a, password, 0); err != nil {
			t.Fatal(err)
		}
	}
	idle := dialIMAP(t, srv)
	idle.login("ana@example.org", password, "")
	idle.idle()
	bo := dialIMAP(t, srv)
	bo.login("bo@example.org", password, "")

	mine, other := newAPIClient(t, srv), newAPIClient(t, srv)
	mine.login("ana@example.org", password)
	other.login("ana@example.org", password)
	status, v := mine.do("GET", "sessions", "")
	if n := len(v["sessions"].([]any)); status != http.StatusOK || n != 3 {
		t.Fatalf("GET /sessions: %d %v, want 3 sessions (IMAP and two web)", status, v)
	}

	start := time.Now()
	status, v = mine.do("POST", "sessions/signout", "")
	if status != http.StatusOK || v["sessions_ended"] != float64(2) {
		t.Fatalf("signout: %d %v", status, v)
	}
	idle.conn.SetReadDeadline(time.Now().Add(time.Second))
	for {
		_, err := idle.r.ReadString('\n')
		if err == nil {
			continue // the server may say BYE first
		}
		if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
			t.Fatal("the IMAP IDLE session was still open a second after the signout")
		}
		break
	}
	t.Logf("IMAP IDLE session closed %v after the signout was asked", time.Since(start))
	if status, _ := other.do("GET", "me", ""); status != http.StatusUnauthorized {
		t.Errorf("the other web session answered %d after the signout, want 401", status)
	}
	if status, v := mine.do("GET", "me", ""); status != http.StatusOK || v["address"] != "ana@example.org" {
		t.Errorf("the current web session answered %d %v", status, v)
	}
	bo.send("n NOOP")
	bo.upTo("n OK")
	if got := srv.Sessions().List(srv.accountID(t, "ana@example.org")); len(got) != 1 || got[0].Protocol != "web" {
		t.Errorf("ana's live sessions: %+v, want the current web session alone", got)
	}
}

func (s *Server) accountID(t *testing.T, address string) int64 {
	t.Helper()
	acc, err := s.store.GetAccount(t.Context(), address)
	if err != nil {
		t.Fatal(err)
	}
	return acc.ID
}
