// Package web serves Sealpost's HTTPS listener: a status page, /healthz,
// for the hosted domains the MTA-STS policy (RFC 8461) and mail client
// autoconfiguration, the page where the target of a forwarding rule
// confirms it (GET shows a button and only its POST confirms, since mail
// scanners fetch the links in messages, and failed confirmations are
// limited per client address, an IPv6 client by its /64), and, when
// given, the account API under /api/v1/ (package api). Webmail, account
// settings, the admin pages and WKD will live here too.
package web

import (
	"context"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"sealpost.dev/sealpost/internal/account"
)

// Checker reports whether a dependency (the store) is healthy.
type Checker func(ctx context.Context) error

// Options configures the handler.
type Options struct {
	Hostname string
	Version  string
	Health   Checker
	// Mail, when set, serves the MTA-STS policy and the client
	// configuration (autoconfig and Autodiscover) of the hosted domains.
	Mail *MailDomains
	// Forwarding, when set, serves the page where the target of a
	// forwarding rule confirms it (account.ForwardConfirmPath).
	Forwarding ForwardConfirmer
	// Logger receives what a page could not do; nil discards it.
	Logger *slog.Logger
	// API, when set, serves the account API under /api/v1/ (package api).
	API http.Handler
}

// Handler returns the HTTPS handler.
func Handler(opts Options) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", HealthHandler(opts.Health, false))
	if opts.Mail != nil {
		mux.HandleFunc("GET /.well-known/mta-sts.txt", opts.Mail.servePolicy)
		mux.HandleFunc("GET /mail/config-v1.1.xml", opts.Mail.serveAutoconfig)
		mux.HandleFunc("POST /autodiscover/autodiscover.xml", opts.Mail.serveAutodiscover)
		mux.HandleFunc("POST /Autodiscover/Autodiscover.xml", opts.Mail.serveAutodiscover)
	}
	if opts.Forwarding != nil {
		fc := newForwardConfirm(opts.Forwarding, opts.Logger)
		mux.HandleFunc("GET "+account.ForwardConfirmPath, fc.show)
		mux.HandleFunc("POST "+account.ForwardConfirmPath, fc.confirm)
	}
	if opts.API != nil {
		mux.Handle("/api/v1/", opts.API)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = statusPage.Execute(w, opts)
	})
	return mux
}

// HealthHandler answers 200 with {"status":"ok"} when check passes and 503
// otherwise, with the reason only if detail is set: the reason can name
// internal hosts and users, so only the admin listener shows it. The check
// gets at most 2 s.
func HealthHandler(check Checker, detail bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		status := map[string]string{"status": "ok"}
		code := http.StatusOK
		if check != nil {
			if err := check(ctx); err != nil {
				status = map[string]string{"status": "unavailable"}
				if detail {
					status["error"] = err.Error()
				}
				code = http.StatusServiceUnavailable
			}
		}
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(status)
	})
}

// setSecurityHeaders applies the headers every HTML page carries.
func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Strict-Transport-Security", "max-age=31536000")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

var statusPage = template.Must(template.New("status").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sealpost on {{.Hostname}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em}</style>
</head><body>
<h1>Sealpost</h1>
<p>The mail server for <strong>{{.Hostname}}</strong> is running (version {{.Version}}).</p>
<p>Webmail and account settings will be offered here.</p>
</body></html>
`))
