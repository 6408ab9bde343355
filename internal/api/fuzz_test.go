package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// badInputs is every endpoint that reads a body, with bodies it must refuse
// and the field its error names ("" for none).
var badInputs = []struct {
	method, path string
	body         string
	status       int
	field        string
}{
	{"POST", "session", ``, 400, ""},
	{"POST", "session", `{}`, 400, "address"},
	{"POST", "session", `{"address":"ana@example.org"}`, 400, "password"},
	{"POST", "session", `{"address":1,"password":"x"}`, 400, "address"},
	{"POST", "session", `{"address":"a@b","password":["x"]}`, 400, "password"},
	{"POST", "session", `{"address":"a@b","password":"x","code":123456}`, 400, "code"},
	{"POST", "session", `{"address":"a@b","password":"x","admin":true}`, 400, "admin"},
	{"POST", "session", `{"address":"a@b","password":"x"}{}`, 400, ""},
	{"POST", "session", `{"address":"a@b","password":"x"} 1`, 400, ""},
	{"POST", "session", `[]`, 400, ""},
	{"POST", "session", `"text"`, 400, ""},
	{"POST", "session", `null`, 400, "address"},
	{"POST", "session", `{"address":"a@b","password":`, 400, ""},
	{"POST", "session", `{"address":"a@b",,}`, 400, ""},
	{"POST", "session", `{"address":"` + strings.Repeat("a", 300) + `@b","password":"x"}`, 400, "address"},
	{"POST", "session", `{"address":"a@b","password":"` + strings.Repeat("p", 2000) + `"}`, 400, "password"},
	{"POST", "session", `{"address":"a@b","password":"x","code":"` + strings.Repeat("1", 100) + `"}`, 400, "code"},
	{"POST", "session", `{"address":"a\u0000@b","password":"x"}`, 400, "address"},
	{"POST", "session", `{"address":"a@b","password":"` + strings.Repeat("p", MaxBody) + `"}`, 413, ""},
	{"POST", "stepup", `{}`, 400, "password"},
	{"POST", "stepup", `{"password":true}`, 400, "password"},
	{"POST", "stepup", `{"password":"x","code":{}}`, 400, "code"},
	{"POST", "stepup", `{"password":"x","address":"someone@else"}`, 400, "address"},
	{"POST", "sessions/signout", `{"revoke_app_passwords":"yes"}`, 400, "revoke_app_passwords"},
	{"POST", "sessions/signout", `{"everything":true}`, 400, "everything"},
	{"POST", "sessions/signout", `{}{}`, 400, ""},
	{"POST", "app-passwords", `{}`, 400, "name"},
	{"POST", "app-passwords", `{"name":"x"}`, 400, "scopes"},
	{"POST", "app-passwords", `{"name":"x","scopes":[]}`, 400, "scopes"},
	{"POST", "app-passwords", `{"name":"x","scopes":"imap"}`, 400, "scopes"},
	{"POST", "app-passwords", `{"name":"x","scopes":[1]}`, 400, "scopes"},
	{"POST", "app-passwords", `{"name":"x","scopes":["web"]}`, 400, "scopes"},
	{"POST", "app-passwords", `{"name":"x","scopes":["imap","imap","imap","imap"]}`, 400, "scopes"},
	{"POST", "app-passwords", `{"name":"` + strings.Repeat("n", 65) + `","scopes":["imap"]}`, 400, "name"},
	{"POST", "app-passwords", `{"name":"a\nb","scopes":["imap"]}`, 400, "name"},
	{"POST", "2fa", `{"on":true}`, 400, "on"},
	{"POST", "2fa", `[1]`, 400, ""},
	{"PUT", "password", `{}`, 400, "password"},
	{"PUT", "password", `{"password":12345678}`, 400, "password"},
	{"PUT", "password", `{"password":"` + strings.Repeat("p", 1025) + `"}`, 400, "password"},
	{"PUT", "recovery-address", `{}`, 400, "recovery_address"},
	{"PUT", "recovery-address", `{"recovery_address":null}`, 400, "recovery_address"},
	{"PUT", "recovery-address", `{"recovery_address":7}`, 400, "recovery_address"},
	{"PUT", "recovery-address", `{"recovery_address":"` + strings.Repeat("r", 300) + `"}`, 400, "recovery_address"},
	{"POST", "forwarding", `{}`, 400, "target"},
	{"POST", "forwarding", `{"target":"far@outside.test"}`, 400, "keep_copy"},
	{"POST", "forwarding", `{"target":7,"keep_copy":false}`, 400, "target"},
	{"POST", "forwarding", `{"target":"far@outside.test","keep_copy":"no"}`, 400, "keep_copy"},
	{"POST", "forwarding", `{"target":"` + strings.Repeat("f", 300) + `@outside.test","keep_copy":false}`, 400, "target"},
	{"POST", "forwarding", `{"target":"far@outside.test","keep_copy":false,"filter":"x"}`, 400, "filter"},
	{"POST", "forwarding", `{"target":"not an address","keep_copy":false}`, 400, ""},
	{"POST", "messages/report", `{}`, 400, "mailbox"},
	{"POST", "messages/report", `{"mailbox":"INBOX","uids":[1]}`, 400, "as"},
	{"POST", "messages/report", `{"mailbox":"INBOX","uids":[1],"as":"eggs"}`, 400, "as"},
	{"POST", "messages/report", `{"mailbox":"INBOX","uids":[],"as":"spam"}`, 400, "uids"},
	{"POST", "messages/report", `{"mailbox":"INBOX","as":"spam"}`, 400, "uids"},
	{"POST", "messages/report", `{"mailbox":"INBOX","uids":[0],"as":"spam"}`, 400, "uids"},
	{"POST", "messages/report", `{"mailbox":"INBOX","uids":[-1],"as":"spam"}`, 400, "uids"},
	{"POST", "messages/report", `{"mailbox":"INBOX","uids":[4294967296],"as":"spam"}`, 400, "uids"},
	{"POST", "messages/report", `{"mailbox":"INBOX","uids":"1","as":"spam"}`, 400, "uids"},
	{"POST", "messages/report", `{"mailbox":"INBOX","uids":[` + strings.Repeat("1,", 500) + `1],"as":"spam"}`, 400, "uids"},
	{"POST", "messages/report", `{"mailbox":"IN\u0000BOX","uids":[1],"as":"spam"}`, 400, "mailbox"},
	{"POST", "messages/report", `{"mailbox":7,"uids":[1],"as":"spam"}`, 400, "mailbox"},
	{"POST", "messages/report", `{"mailbox":"INBOX","uids":[1],"as":"spam","move":false}`, 400, "move"},
}

// TestBadInput: every endpoint refuses malformed, mistyped, oversized and
// incomplete bodies with a JSON error naming the field. The caller is
// stepped up, so no refusal is for the want of one.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	_, secret, err := (&Tokens{Store: e.store, Now: e.clock.Now}).Add(t.Context(), e.acc, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.bearer = secret
	c.stepUp("").must(t, http.StatusOK)
	for _, tt := range badInputs {
		a := c.do(tt.method, tt.path, tt.body)
		name := tt.method + " " + tt.path + " " + tt.body
		if len(name) > 80 {
			name = name[:80]
		}
		if a.status != tt.status || a.str("error") == "" {
			t.Errorf("%s: %d %s, want %d and an error", name, a.status, a.raw, tt.status)
			continue
		}
		if got, _ := a.body["field"].(string); got != tt.field {
			t.Errorf("%s: field %q, want %q (%s)", name, got, tt.field, a.str("error"))
		}
	}
	// A body that is not JSON by its type is refused as such.
	a := c.do("POST", "stepup", `{"password":"x"}`, "Content-Type", "text/plain")
	if a.status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain body: %d %s", a.status, a.raw)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "since=yesterday"} {
		if a := c.do("GET", "activity?"+q, ""); a.status != http.StatusBadRequest || a.str("field") == "" {
			t.Errorf("GET /activity?%s: %d %s", q, a.status, a.raw)
		}
	}
	for _, id := range []string{"0", "-1", "x", "99999999999999999999"} {
		if a := c.do("DELETE", "app-passwords/"+id, ""); a.status != http.StatusBadRequest || a.str("field") != "id" {
			t.Errorf("DELETE /app-passwords/%s: %d %s", id, a.status, a.raw)
		}
		if a := c.do("DELETE", "forwarding/"+id, ""); a.status != http.StatusBadRequest || a.str("field") != "id" {
			t.Errorf("DELETE /forwarding/%s: %d %s", id, a.status, a.raw)
		}
	}
	if a := c.do("DELETE", "forwarding/12345", ""); a.status != http.StatusNotFound {
		t.Errorf("DELETE /forwarding/12345: %d %s", a.status, a.raw)
	}
}

// FuzzEndpoints sends arbitrary bodies to every endpoint, through the
// handler, as a signed-in session (with its CSRF token) or a token, after
// a step-up: never a panic or a 500, and every refusal a JSON error.
func FuzzEndpoints(f *testing.F) {
	for i, b := range badInputs {
		f.Add(uint8(i%len(routes)), []byte(b.body), i%2 == 0)
	}
	for i, rt := range routes {
		f.Add(uint8(i), []byte(`{}`), true)
		f.Add(uint8(i), []byte(`{"address":"ana@example.org","password":"a long enough password"}`), false)
		_ = rt
	}
	f.Add(uint8(8), []byte(`{"name":"x","scopes":["imap"]}`), false)
	f.Add(uint8(13), []byte(`{"password":"another long password"}`), true)
	e := newEnv(f)
	h := e.api.Handler()
	_, secret, err := (&Tokens{Store: e.store, Now: e.clock.Now}).Add(f.Context(), e.acc, "fuzz", 0)
	if err != nil {
		f.Fatal(err)
	}
	serve := func(method, path string, body string, session bool, cookie *http.Cookie, csrf string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "https://mail.example.org"+Prefix+path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if session {
			r.AddCookie(cookie)
			r.Header.Set("X-CSRF-Token", csrf)
		} else {
			r.Header.Set("Authorization", "Bearer "+secret)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	f.Fuzz(func(t *testing.T, n uint8, body []byte, session bool) {
		// A fresh session each time, stepped up, and a fresh step-up of
		// the token: the last input may have ended or changed them.
		e.clock.advance(time.Second)
		login := serve("POST", "session", `{"address":"ana@example.org","password":"a long enough password"}`, false, nil, "")
		var cookie *http.Cookie
		var csrf string
		if login.Code == http.StatusCreated {
			cookie = login.Result().Cookies()[0]
			var v map[string]any
			json.Unmarshal(login.Body.Bytes(), &v)
			csrf, _ = v["csrf_token"].(string)
		} else {
			session = false // the password was changed by an earlier input
		}
		rt := routes[int(n)%len(routes)]
		path := strings.ReplaceAll(rt.path, "{id}", "1")
		w := serve(rt.method, path, string(body), session, cookie, csrf)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", rt.method, path, body, w.Code, w.Body)
		}
		var v map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s %s %q: the answer is not a JSON object: %v\n%s", rt.method, path, body, err, w.Body)
		}
		if w.Code >= 400 {
			if msg, _ := v["error"].(string); msg == "" {
				t.Fatalf("%s %s %q: %d without an error message: %s", rt.method, path, body, w.Code, w.Body)
			}
		}
	})
}
