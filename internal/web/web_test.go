package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthz(t *testing.T) {
	tests := []struct {
		name   string
		check  Checker
		code   int
		status string
	}{
		{"healthy", func(context.Context) error { return nil }, 200, "ok"},
		{"store down", func(context.Context) error { return errors.New("database is closed") }, 503, "unavailable"},
		{"no checker", nil, 200, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(Handler(Options{Hostname: "mail.example.test", Health: tt.check}))
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Errorf("status code %d, want %d", resp.StatusCode, tt.code)
			}
			var body map[string]string
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if body["status"] != tt.status {
				t.Errorf("status %q, want %q", body["status"], tt.status)
			}
		})
	}
}

func TestStatusPage(t *testing.T) {
	srv := httptest.NewServer(Handler(Options{Hostname: "mail.example.test", Version: "v1.2.3"}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mail.example.test", "v1.2.3"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if got := resp.Header.Get("Content-Security-Policy"); got == "" {
		t.Error("status page has no Content-Security-Policy")
	}
	resp2, err := http.Get(srv.URL + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 404 {
		t.Errorf("unknown path: %d, want 404", resp2.StatusCode)
	}
}

func TestHealthzDetailOnlyWhenAsked(t *testing.T) {
	failing := func(context.Context) error { return errors.New("dial postgres.internal:5432 as user sealpost") }
	for _, detail := range []bool{false, true} {
		rec := httptest.NewRecorder()
		HealthHandler(failing, detail).ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		shown := strings.Contains(rec.Body.String(), "postgres.internal")
		if rec.Code != 503 || shown != detail {
			t.Errorf("detail=%v: code %d, body %s", detail, rec.Code, rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	Handler(Options{Health: failing}).ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if strings.Contains(rec.Body.String(), "postgres.internal") {
		t.Errorf("the public /healthz shows the error: %s", rec.Body)
	}
}

func TestAPIMounted(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("api " + r.URL.Path)) })
	h := Handler(Options{Hostname: "mail.example.org", API: api})
	for path, want := range map[string]string{"/api/v1/me": "api /api/v1/me", "/api/v1/": "api /api/v1/"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if got := w.Body.String(); got != want {
			t.Errorf("GET %s: %q, want %q", path, got, want)
		}
	}
	w := httptest.NewRecorder()
	Handler(Options{Hostname: "mail.example.org"}).ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/me", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("without an API, GET /api/v1/me answered %d", w.Code)
	}
}
