package tlsconf

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHTTPHandlerWithoutACME(t *testing.T) {
	p, err := New(Options{Mode: ModeSelfSigned, Dir: t.TempDir(), Hostnames: []string{"mail.sealpost.test"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fallback") })

	tests := []struct {
		name         string
		handler      http.Handler
		method, url  string
		wantStatus   int
		wantLocation string
		wantBody     string
	}{
		{"fallback gets everything", p.HTTPHandler(fallback), "GET", "http://mail.sealpost.test/x", http.StatusOK, "", "fallback"},
		{"fallback gets challenge paths too", p.HTTPHandler(fallback), "GET", "http://mail.sealpost.test/.well-known/acme-challenge/t", http.StatusOK, "", "fallback"},
		{"nil fallback redirects GET", p.HTTPHandler(nil), "GET", "http://mail.sealpost.test:8080/inbox?a=1", http.StatusFound, "https://mail.sealpost.test/inbox?a=1", ""},
		{"nil fallback redirects HEAD", p.HTTPHandler(nil), "HEAD", "http://mail.sealpost.test/", http.StatusFound, "https://mail.sealpost.test/", ""},
		{"nil fallback refuses POST", p.HTTPHandler(nil), "POST", "http://mail.sealpost.test/login", http.StatusBadRequest, "", "Use HTTPS\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.handler.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.url, nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("Location"); got != tt.wantLocation {
				t.Errorf("Location %q, want %q", got, tt.wantLocation)
			}
			if tt.wantBody != "" && rec.Body.String() != tt.wantBody {
				t.Errorf("body %q, want %q", rec.Body.String(), tt.wantBody)
			}
		})
	}
}

// TestACMEChallengeHostPolicy checks the HTTP-01 handler refuses names
// outside Hostnames, with or without a port in Host.
func TestACMEChallengeHostPolicy(t *testing.T) {
	p, err := New(Options{Mode: ModeACME, Dir: t.TempDir(), Hostnames: []string{"mail.sealpost.test"},
		ACME: ACMEOptions{DirectoryURL: "https://127.0.0.1:1/dir"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := p.HTTPHandler(nil)
	tests := []struct {
		host       string
		wantStatus int
	}{
		{"mail.sealpost.test", http.StatusNotFound}, // allowed, but no token pending
		{"mail.sealpost.test:80", http.StatusNotFound},
		{"MAIL.sealpost.test.", http.StatusNotFound},
		{"other.sealpost.test", http.StatusForbidden},
		{"other.sealpost.test:80", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/.well-known/acme-challenge/token", nil)
			r.Host = tt.host
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d (%s)", rec.Code, tt.wantStatus, rec.Body)
			}
		})
	}
}
