package web

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/store"
)

// ForwardConfirmer confirms forwarding rules by the token of their
// confirmation link (account.Service).
type ForwardConfirmer interface {
	ConfirmForwarding(ctx context.Context, token string) (store.ForwardRule, error)
}

// Bounds of the confirmation endpoint: the token is far too long to guess,
// so the limit only keeps a client from loading the store with attempts.
const (
	maxConfirmFailures = 10               // failed confirmations per client address
	confirmWindow      = 10 * time.Minute // over this window
	maxConfirmClients  = 10000            // client addresses remembered
	maxTokenLen        = 128
)

// forwardConfirm serves account.ForwardConfirmPath. GET shows a page with
// a button and confirms nothing, since mail scanners fetch the links in
// messages; only the POST of that button confirms.
type forwardConfirm struct {
	confirmer ForwardConfirmer
	log       *slog.Logger
	now       func() time.Time

	mu       sync.Mutex
	failures map[netip.Addr]*confirmFailures
}

type confirmFailures struct {
	since time.Time
	n     int
}

type confirmPage struct {
	Title, Message, Token string
}

func newForwardConfirm(c ForwardConfirmer, log *slog.Logger) *forwardConfirm {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &forwardConfirm{confirmer: c, log: log, now: time.Now, failures: map[netip.Addr]*confirmFailures{}}
}

func (f *forwardConfirm) show(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if token == "" || len(token) > maxTokenLen {
		f.page(w, http.StatusBadRequest, confirmPage{Title: "Invalid link",
			Message: "This confirmation link is incomplete or invalid. Copy the whole link from the message."})
		return
	}
	f.page(w, http.StatusOK, confirmPage{Title: "Confirm forwarding",
		Message: "Someone asked that their mail be forwarded to your address. Press the button to accept; if you did not expect this, close this page.",
		Token:   token})
}

func (f *forwardConfirm) confirm(w http.ResponseWriter, r *http.Request) {
	client := clientAddr(r)
	if f.limited(client) {
		w.Header().Set("Retry-After", "600")
		f.page(w, http.StatusTooManyRequests, confirmPage{Title: "Too many attempts",
			Message: "Too many invalid confirmation links came from your network. Try again later."})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	token := r.PostFormValue("token")
	if token == "" || len(token) > maxTokenLen {
		f.fail(client)
		f.page(w, http.StatusBadRequest, confirmPage{Title: "Invalid link",
			Message: "This confirmation link is incomplete or invalid. Copy the whole link from the message."})
		return
	}
	ctx := account.FromRemote(r.Context(), remoteIP(r), r.UserAgent())
	rule, err := f.confirmer.ConfirmForwarding(ctx, token)
	switch {
	case errors.Is(err, account.ErrBadForwardToken):
		f.fail(client)
		f.page(w, http.StatusNotFound, confirmPage{Title: "Link expired or used",
			Message: "This confirmation link is unknown, was used already, or has expired (links last 7 days). Nothing was changed."})
	case err != nil:
		f.log.Warn("confirming forwarding", "err", err)
		f.page(w, http.StatusServiceUnavailable, confirmPage{Title: "Try again later",
			Message: "The confirmation could not be recorded just now. Try again in a few minutes."})
	default:
		f.page(w, http.StatusOK, confirmPage{Title: "Forwarding confirmed",
			Message: "Thank you: mail will now be forwarded to " + rule.Target + "."})
	}
}

func (f *forwardConfirm) page(w http.ResponseWriter, code int, p confirmPage) {
	setSecurityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = confirmTemplate.Execute(w, p)
}

// limited reports whether the client has failed too often lately.
func (f *forwardConfirm) limited(client netip.Addr) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.failures[client]
	return c != nil && f.now().Sub(c.since) < confirmWindow && c.n >= maxConfirmFailures
}

// fail counts a failed confirmation of the client.
func (f *forwardConfirm) fail(client netip.Addr) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	c := f.failures[client]
	if c == nil || now.Sub(c.since) >= confirmWindow {
		if len(f.failures) >= maxConfirmClients {
			clear(f.failures) // a flood of addresses forgets; the tokens stay unguessable
		}
		c = &confirmFailures{since: now}
		f.failures[client] = c
	}
	c.n++
}

// remoteIP is the request's remote address; the zero Addr when unknown.
func remoteIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

// clientAddr is the request's remote address, IPv6 addresses by their /64
// since one client has a whole one.
func clientAddr(r *http.Request) netip.Addr {
	a := remoteIP(r)
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

var confirmTemplate = template.Must(template.New("confirm").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<meta name="robots" content="noindex">
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em}</style>
</head><body>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{if .Token}}<form method="post" action="` + account.ForwardConfirmPath + `">
<input type="hidden" name="token" value="{{.Token}}">
<button type="submit">Accept forwarding</button>
</form>{{end}}
</body></html>
`))
