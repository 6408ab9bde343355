package admin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzDecodeSignOut: any body is either refused with a message or gives a
// request naming an account that survives a round trip.
func FuzzDecodeSignOut(f *testing.F) {
	for _, seed := range []string{
		`{"account": "ana@example.org"}`,
		`{"account": "ana@example.org", "keep": 12}`,
		`{"account": "ana@example.org", "keep": -1}`,
		`{"account": "ana@example.org", "keep": 1e3}`,
		`{"account": "\u00e9@example.org", "keep": 0}`,
		`{"account": "a"} {}`,
		`[]`, `null`, ``, `{`, `{"ACCOUNT": "x"}`, `{"account": null}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeSignOut(bytes.NewReader(body))
		if err != nil {
			if err.Error() == "" || strings.Contains(err.Error(), "json: ") {
				t.Errorf("error %q does not explain itself in the API's words", err)
			}
			if req != (SignOutRequest{}) {
				t.Errorf("refused body gave a request %+v", req)
			}
			return
		}
		if req.Account == "" {
			t.Fatalf("accepted %q with no account", body)
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeSignOut(bytes.NewReader(again))
		if err != nil || back != req {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", body, back, err, req)
		}
	})
}

// FuzzDecodeEndAppPassword: any body is either refused with a message or
// gives a request naming an account and an app password.
func FuzzDecodeEndAppPassword(f *testing.F) {
	for _, seed := range []string{
		`{"account": "ana@example.org", "app_password": 7}`,
		`{"account": "ana@example.org", "app_password": 0}`,
		`{"account": "ana@example.org", "app_password": 9223372036854775808}`,
		`{"app_password": 1}`, `[]`, `null`, ``, `{`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeEndAppPassword(bytes.NewReader(body))
		if err != nil {
			if err.Error() == "" || strings.Contains(err.Error(), "json: ") {
				t.Errorf("error %q does not explain itself in the API's words", err)
			}
			if req != (EndAppPasswordRequest{}) {
				t.Errorf("refused body gave a request %+v", req)
			}
			return
		}
		if req.Account == "" || req.AppPassword <= 0 {
			t.Fatalf("accepted %q as %+v", body, req)
		}
	})
}

// FuzzHandler sends any request to the API: it never panics, answers JSON
// with a status the API uses (or redirects an unclean path), and a refusal
// says why.
func FuzzHandler(f *testing.F) {
	for _, seed := range []struct{ method, target, body string }{
		{"GET", "/v1/sessions?account=ana@example.org", ""},
		{"GET", "/v1/sessions?account=%ff", ""},
		{"GET", "/v1/sessions?account=a&account=b", ""},
		{"POST", "/v1/signout", `{"account": "ana@example.org", "keep": 1}`},
		{"POST", "/v1/signout", `{"account": "bo@example.org"}`},
		{"PUT", "/v1/signout", `{}`},
		{"POST", "/v1/end-app-password", `{"account": "ana@example.org", "app_password": 7}`},
		{"POST", "/v1/end-app-password", `{"account": "ana@example.org", "app_password": -7}`},
		{"GET", "/", ""},
	} {
		f.Add(seed.method, seed.target, []byte(seed.body))
	}
	api := newAPI(f)
	h := (&Server{Accounts: api.accounts, Sessions: api.reg}).Handler()
	f.Fuzz(func(t *testing.T, method, target string, body []byte) {
		req, err := http.NewRequest(method, "http://sealpost/", bytes.NewReader(body))
		if err != nil {
			return // not a method net/http sends
		}
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(target, "/") {
			return
		}
		req.URL, req.RequestURI = u, target
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 404, 405:
		case 301, 307, 308:
			return // net/http's redirect of an unclean path ("/.", "//x")
		default:
			t.Fatalf("%s %s: status %d", method, target, rec.Code)
		}
		var e errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
			t.Fatalf("%s %s: answer %q is not JSON", method, target, rec.Body.Bytes())
		}
		if rec.Code != 200 && e.Error == "" {
			t.Fatalf("%s %s: status %d without a reason", method, target, rec.Code)
		}
	})
}
