package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/sessions"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// apiFixture is an admin server on its socket, over a store with the
// accounts ana@ and bo@example.org, and a registry with three live
// sessions of ana's and one of bo's.
type apiFixture struct {
	dir      string
	reg      *sessions.Registry
	ana, bo  int64
	anaIDs   []uint64
	ended    map[uint64]*atomic.Int32
	client   *Client
	raw      *http.Client
	accounts *account.Service
}

func newAPI(t testing.TB) *apiFixture {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := &account.Service{Store: st, Hasher: account.Hasher{Time: 1, MemoryKiB: 64, Threads: 1}}
	if _, err := svc.AddDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	f := &apiFixture{dir: shortDir(t), reg: &sessions.Registry{}, ended: map[uint64]*atomic.Int32{}, accounts: svc}
	for _, addr := range []string{"ana@example.org", "bo@example.org"} {
		a, err := svc.AddAccount(ctx, addr, "a long enough password", 0)
		if err != nil {
			t.Fatal(err)
		}
		if f.ana == 0 {
			f.ana = a.ID
		} else {
			f.bo = a.ID
		}
	}
	for _, s := range []struct {
		account int64
		proto   string
	}{{f.ana, "imap"}, {f.ana, "pop3"}, {f.ana, "smtp"}, {f.bo, "imap"}} {
		n := &atomic.Int32{}
		id, _ := f.reg.Add(sessions.Info{AccountID: s.account, Protocol: s.proto,
			RemoteIP: netip.MustParseAddr("192.0.2.1"), Client: "client " + s.proto}, func() { n.Add(1) })
		f.ended[id] = n
		if s.account == f.ana {
			f.anaIDs = append(f.anaIDs, id)
		}
	}
	ln, err := Listen(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: (&Server{Accounts: svc, Sessions: f.reg}).Handler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	f.client = NewClient(f.dir)
	f.raw = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", SocketPath(f.dir))
	}}}
	return f
}

func (f *apiFixture) endedCount() int {
	total := 0
	for _, n := range f.ended {
		total += int(n.Load())
	}
	return total
}

func TestSessionsAndSignOut(t *testing.T) {
	f := newAPI(t)
	ctx := t.Context()
	list, err := f.client.Sessions(ctx, "Ana@Example.org")
	if err != nil {
		t.Fatal(err)
	}
	if list.Account != "ana@example.org" || len(list.Sessions) != 3 {
		t.Fatalf("sessions of ana: %+v", list)
	}
	s := list.Sessions[0]
	if s.ID != f.anaIDs[0] || s.Protocol != "imap" || s.RemoteIP.String() != "192.0.2.1" || s.Client != "client imap" || s.Started.IsZero() {
		t.Errorf("first session: %+v", s)
	}

	res, err := f.client.SignOut(ctx, "ana@example.org", f.anaIDs[1])
	if err != nil {
		t.Fatal(err)
	}
	if res != (SignOutResult{Account: "ana@example.org", Ended: 2, Kept: f.anaIDs[1]}) {
		t.Errorf("sign-out result %+v", res)
	}
	for id, n := range f.ended {
		want := int32(0)
		if id == f.anaIDs[0] || id == f.anaIDs[2] {
			want = 1
		}
		if n.Load() != want {
			t.Errorf("session %d ended %d times, want %d", id, n.Load(), want)
		}
	}
	if list, _ := f.client.Sessions(ctx, "ana@example.org"); len(list.Sessions) != 1 || list.Sessions[0].ID != f.anaIDs[1] {
		t.Errorf("after sign-out ana has %+v, want only the kept session", list.Sessions)
	}
	if list, _ := f.client.Sessions(ctx, "bo@example.org"); len(list.Sessions) != 1 {
		t.Errorf("bo's sessions touched: %+v", list.Sessions)
	}
	res, err = f.client.SignOut(ctx, "ana@example.org", 0)
	if err != nil || res.Ended != 1 {
		t.Errorf("signing out all: %+v, %v", res, err)
	}
	if list, _ := f.client.Sessions(ctx, "ana@example.org"); list.Sessions == nil || len(list.Sessions) != 0 {
		t.Errorf("with no session, sessions is %#v, want an empty list", list.Sessions)
	}
}

// TestBadRequests: every bad request gets a 4xx with a message saying
// what is wrong, and signs nobody out.
func TestBadRequests(t *testing.T) {
	f := newAPI(t)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"empty body", "POST", "/v1/signout", "", 400, "empty request body"},
		{"blank body", "POST", "/v1/signout", " \r\n", 400, "empty request body"},
		{"not JSON", "POST", "/v1/signout", "account=ana", 400, "not JSON"},
		{"cut short", "POST", "/v1/signout", `{"account": "ana@example.org"`, 400, "ends early"},
		{"an array", "POST", "/v1/signout", `["ana@example.org"]`, 400, "want a JSON object"},
		{"a string", "POST", "/v1/signout", `"ana@example.org"`, 400, "want a JSON object"},
		{"null", "POST", "/v1/signout", `null`, 400, `"account" is missing`},
		{"account a number", "POST", "/v1/signout", `{"account": 5}`, 400, `"account" must be a string`},
		{"no account", "POST", "/v1/signout", `{"keep": 1}`, 400, `"account" is missing`},
		{"keep negative", "POST", "/v1/signout", `{"account": "ana@example.org", "keep": -1}`, 400, `"keep" must be a session ID`},
		{"keep a string", "POST", "/v1/signout", `{"account": "ana@example.org", "keep": "1"}`, 400, `"keep" must be a session ID`},
		{"keep a fraction", "POST", "/v1/signout", `{"account": "ana@example.org", "keep": 1.5}`, 400, `"keep" must be a session ID`},
		{"keep too big", "POST", "/v1/signout", `{"account": "ana@example.org", "keep": 18446744073709551616}`, 400, `"keep" must be a session ID`},
		{"unknown field", "POST", "/v1/signout", `{"account": "ana@example.org", "kep": 1}`, 400, `unknown field "kep"`},
		{"two objects", "POST", "/v1/signout", `{"account": "ana@example.org"} {"account": "bo@example.org"}`, 400, "more than one JSON value"},
		{"trailing garbage", "POST", "/v1/signout", `{"account": "ana@example.org"} x`, 400, "more than one JSON value"},
		{"too large", "POST", "/v1/signout", `{"account": "` + strings.Repeat("a", 5000) + `@example.org"}`, 400, "larger than 4096 bytes"},
		{"bad address", "POST", "/v1/signout", `{"account": "not an address"}`, 400, "address"},
		{"unknown account", "POST", "/v1/signout", `{"account": "nobody@example.org"}`, 404, "no account nobody@example.org"},
		{"keep not live", "POST", "/v1/signout", `{"account": "ana@example.org", "keep": 999}`, 400, "not a live session of ana@example.org; nothing was signed out"},
		{"keep another's", "POST", "/v1/signout", `{"account": "ana@example.org", "keep": 4}`, 400, "not a live session"},
		{"end app password: none named", "POST", "/v1/end-app-password", `{"account": "ana@example.org"}`, 400, `"app_password" must be an app password's ID`},
		{"end app password: zero", "POST", "/v1/end-app-password", `{"account": "ana@example.org", "app_password": 0}`, 400, `"app_password" must be`},
		{"end app password: a string", "POST", "/v1/end-app-password", `{"account": "ana@example.org", "app_password": "7"}`, 400, `"app_password" must be`},
		{"end app password: no account", "POST", "/v1/end-app-password", `{"app_password": 7}`, 400, `"account" is missing`},
		{"end app password: empty", "POST", "/v1/end-app-password", ``, 400, `empty request body: want {"account": ADDRESS, "app_password": ID}`},
		{"end app password: unknown account", "POST", "/v1/end-app-password", `{"account": "nobody@example.org", "app_password": 7}`, 404, "no account"},
		{"end app password: wrong method", "GET", "/v1/end-app-password", "", 405, "use POST"},
		{"sessions of nobody named", "GET", "/v1/sessions", "", 400, "no account named"},
		{"sessions of a bad address", "GET", "/v1/sessions?account=%00", "", 400, "address"},
		{"sessions of an unknown account", "GET", "/v1/sessions?account=nobody@example.org", "", 404, "no account"},
		{"unknown endpoint", "GET", "/v1/nothing", "", 404, "no endpoint GET /v1/nothing"},
		{"wrong method", "GET", "/v1/signout", "", 405, "GET /v1/signout: use POST"},
		{"wrong method for sessions", "DELETE", "/v1/sessions", "", 405, "use GET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, "http://sealpost"+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := f.raw.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tc.status)
			}
			if tc.want == "" {
				return
			}
			var e errorBody
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("error body %q is not JSON: %v", body, err)
			}
			if !strings.Contains(e.Error, tc.want) {
				t.Errorf("error %q, want it to say %q", e.Error, tc.want)
			}
		})
	}
	if n := f.endedCount(); n != 0 {
		t.Errorf("bad requests ended %d sessions", n)
	}
}

// TestClientErrors: the client tells "no server" from an answer.
func TestClientErrors(t *testing.T) {
	ctx := t.Context()
	empty := shortDir(t)
	if _, err := NewClient(empty).Sessions(ctx, "ana@example.org"); !errors.Is(err, ErrNoServer) {
		t.Errorf("no socket: %v, want ErrNoServer", err)
	}
	stale := shortDir(t)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: SocketPath(stale), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := NewClient(stale).SignOut(ctx, "ana@example.org", 0); !errors.Is(err, ErrNoServer) {
		t.Errorf("stale socket: %v, want ErrNoServer", err)
	}
	if _, err := os.Lstat(SocketPath(stale)); err != nil {
		t.Errorf("the client removed the stale socket: %v", err)
	}

	f := newAPI(t)
	_, err = f.client.SignOut(ctx, "nobody@example.org", 0)
	var e *Error
	if !errors.As(err, &e) || e.Status != 404 || e.Message != "no account nobody@example.org" {
		t.Errorf("unknown account: %#v", err)
	}
}

// TestEndAppPassword ends the sessions of one revoked app password of one
// account, and no other.
func TestEndAppPassword(t *testing.T) {
	f := newAPI(t)
	var ended [3]atomic.Int32
	for i, s := range []struct{ account, app int64 }{{f.ana, 7}, {f.ana, 8}, {f.bo, 7}} {
		f.reg.Add(sessions.Info{AccountID: s.account, Protocol: "imap", AppPassword: s.app,
			RemoteIP: netip.MustParseAddr("192.0.2.1")}, func() { ended[i].Add(1) })
	}
	res, err := f.client.EndAppPassword(t.Context(), "ana@example.org", 7)
	if err != nil {
		t.Fatal(err)
	}
	if res != (EndAppPasswordResult{Account: "ana@example.org", AppPassword: 7, Ended: 1}) {
		t.Errorf("result %+v", res)
	}
	if ended[0].Load() != 1 || ended[1].Load() != 0 || ended[2].Load() != 0 {
		t.Errorf("ended %d, %d, %d times; want only the first, once", ended[0].Load(), ended[1].Load(), ended[2].Load())
	}
	for id, n := range f.ended {
		if n.Load() != 0 {
			t.Errorf("main-password session %d ended", id)
		}
	}
}
