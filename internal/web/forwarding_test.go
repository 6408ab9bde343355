package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/store"
)

// fakeConfirmer confirms the token "good" once.
type fakeConfirmer struct {
	mu    sync.Mutex
	calls int
	used  bool
}

func (f *fakeConfirmer) ConfirmForwarding(_ context.Context, token string) (store.ForwardRule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if token != "good" || f.used {
		return store.ForwardRule{}, account.ErrBadForwardToken
	}
	f.used = true
	return store.ForwardRule{Target: "far@elsewhere.example", State: store.ForwardActive}, nil
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestForwardConfirmPage(t *testing.T) {
	fc := &fakeConfirmer{}
	srv := httptest.NewTLSServer(Handler(Options{Hostname: "mail.example.test", Forwarding: fc}))
	defer srv.Close()
	c := srv.Client()
	base := srv.URL + account.ForwardConfirmPath

	// GET only shows the button, whatever the token: link scanners fetch it.
	code, body := get(t, c, base+"?token=good")
	if code != 200 || !strings.Contains(body, `<form method="post"`) || !strings.Contains(body, `value="good"`) {
		t.Errorf("GET: %d %s", code, body)
	}
	if fc.calls != 0 {
		t.Fatalf("GET confirmed: %d calls", fc.calls)
	}
	code, body = get(t, c, base+"?token=%22%3E%3Cscript%3E")
	if code != 200 || strings.Contains(body, "<script>") {
		t.Errorf("GET with markup in the token: %d %s", code, body)
	}
	for _, q := range []string{"", "?token=", "?token=" + strings.Repeat("a", 200)} {
		if code, body := get(t, c, base+q); code != 400 || !strings.Contains(body, "Invalid link") {
			t.Errorf("GET %q: %d %s", q, code, body)
		}
	}

	steps := []struct {
		form url.Values
		code int
		text string
	}{
		{url.Values{"token": {"good"}}, 200, "Forwarding confirmed"},
		{url.Values{"token": {"good"}}, 404, "Link expired or used"},
		{url.Values{"token": {"bad"}}, 404, "Link expired or used"},
		{url.Values{}, 400, "Invalid link"},
		{url.Values{"token": {strings.Repeat("a", 200)}}, 400, "Invalid link"},
	}
	for _, st := range steps {
		code, body := post(t, c, base, st.form)
		if code != st.code || !strings.Contains(body, st.text) {
			t.Errorf("POST %v: %d %s; want %d %q", st.form, code, body, st.code, st.text)
		}
	}
	resp, err := c.Post(base, "application/x-www-form-urlencoded", strings.NewReader("token="+strings.Repeat("a", 10000)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("oversized form: %d", resp.StatusCode)
	}
}

// TestForwardConfirmLimited checks a client that keeps failing is turned
// away without the store being asked, and others are not.
func TestForwardConfirmLimited(t *testing.T) {
	fc := &fakeConfirmer{}
	h := Handler(Options{Forwarding: fc})
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c := srv.Client()
	base := srv.URL + account.ForwardConfirmPath
	for i := range maxConfirmFailures + 5 {
		code, _ := post(t, c, base, url.Values{"token": {"guess"}})
		want := 404
		if i >= maxConfirmFailures {
			want = 429
		}
		if code != want {
			t.Fatalf("attempt %d: %d, want %d", i+1, code, want)
		}
	}
	if fc.calls != maxConfirmFailures {
		t.Errorf("store asked %d times, want %d", fc.calls, maxConfirmFailures)
	}
	// Another address is not limited.
	req := httptest.NewRequest("POST", account.ForwardConfirmPath, strings.NewReader("token=good"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = "[2001:db8::1]:5555"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("another client: %d", rec.Code)
	}
}

// TestForwardConfirmWindow checks a client turned away is let in again
// once the window has passed.
func TestForwardConfirmWindow(t *testing.T) {
	fc := newForwardConfirm(&fakeConfirmer{}, nil)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	fc.now = func() time.Time { return now }
	client := netip.MustParseAddr("192.0.2.7")
	for range maxConfirmFailures {
		fc.fail(client)
	}
	if !fc.limited(client) {
		t.Fatal("not limited after the failures")
	}
	if fc.limited(netip.MustParseAddr("192.0.2.8")) {
		t.Error("a neighbour limited")
	}
	now = now.Add(confirmWindow)
	if fc.limited(client) {
		t.Error("still limited after the window")
	}
}

// FuzzForwardConfirm posts arbitrary bodies and queries to the
// confirmation page: never a server error, never a confirmation but of
// the one good token, and the token never comes back unescaped.
func FuzzForwardConfirm(f *testing.F) {
	for _, s := range []string{"token=good", "token=", "", "token=%ZZ", "token=a&token=b", "token=<script>", strings.Repeat("x", 5000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fc := &fakeConfirmer{}
		h := Handler(Options{Forwarding: fc})
		req := httptest.NewRequest("POST", account.ForwardConfirmPath, strings.NewReader(s))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 || rec.Code == 200 && !fc.used {
			t.Fatalf("POST %q: %d", s, rec.Code)
		}
		req = httptest.NewRequest("GET", "/", nil)
		req.URL.Path, req.URL.RawQuery = account.ForwardConfirmPath, s
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 || fc.calls > 1 || strings.Contains(rec.Body.String(), "<script>") {
			t.Fatalf("GET ?%q: %d %s", s, rec.Code, rec.Body)
		}
	})
}
