// Package api is Sealpost's account API: HTTPS and JSON under /api/v1/,
// for the web pages and for scripts, over what account.Service offers
// the owner of an account (see docs/api.md for every endpoint).
//
// Two ways in:
//   - browser sessions: POST /api/v1/session with the address, the
//     password and, with 2-step verification on, a TOTP or recovery code
//     (RFC 6238). The session ID (256 random bits) travels in the cookie
//     __Host-sealpost (Secure, HttpOnly, SameSite=Strict, Path=/; the
//     __Host- prefix of RFC 6265bis section 4.1.3.2); the server keeps
//     only its SHA-256, in store.KV, with an idle and an absolute expiry.
//     Every unsafe method (anything but GET, HEAD, OPTIONS) on a session
//     needs the session's CSRF token in X-CSRF-Token, and is refused when
//     Origin or Sec-Fetch-Site, if sent, name another site.
//   - tokens for scripts, made by the administrator (sealpost api token
//     add), sent as "Authorization: Bearer TOKEN" (RFC 6750 section 2.1):
//     kept hashed in store.KV, with an expiry; no CSRF check, since a
//     browser never sends one by itself.
//
// Logins go through account.Service.Login (Protocol "web"), so they are
// logged and guarded like those of every protocol; a 2-step code is
// checked after it, under the same guard. Unknown users and wrong
// passwords answer alike. The risky changes need a step-up (POST
// /api/v1/stepup) no older than account.StepUpWindow, kept with the
// session or token; without one they answer 403 with "step_up_required".
//
// Web sessions are registered in the live-session registry (package
// sessions) by the process that serves them, so that "sign out all other
// sessions", a password change and the administrator's signout end them.
//
// POST /api/v1/messages/report moves messages to Phishing, Junk or INBOX
// and teaches the spam filter what they are (a person's report, as a
// move in IMAP would).
//
// Limits: request bodies are at most MaxBody bytes of one JSON object
// with no unknown fields; every refusal is a JSON object
// {"error": "..."} with the status that fits.
//
// Left out: forwarding rules (coming with their own branch), OAuth, and
// listing the web sessions a process has not seen since a restart in the
// administrator's registry (they are listed by GET /api/v1/sessions and
// ended by its signout all the same). The per-account lists of sessions
// and tokens in store.KV are updated under a lock of this process: two
// servers sharing a database may lose an entry of a list (not a session).
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/sessions"
	"sealpost.dev/sealpost/internal/store"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1/"

// MaxBody is the largest request body accepted, in bytes.
const MaxBody = 4 << 10

// The default lifetimes of a web session.
const (
	DefaultIdleTimeout = time.Hour
	DefaultMaxLifetime = 12 * time.Hour
)

// CookieName is the session cookie's name; the __Host- prefix makes
// browsers insist on Secure, Path=/ and no Domain.
const CookieName = "__Host-sealpost"

// maxClient bounds the User-Agent kept as a login's client.
const maxClient = 200

// Server serves the API. Accounts and Store are required.
type Server struct {
	Accounts *account.Service
	Store    store.Store
	// Sessions, when set, gets the web sessions, and its protocol
	// sessions are listed and ended by the sessions endpoints.
	Sessions *sessions.Registry
	// Trainer, when set, learns from the messages reported through
	// POST /messages/report; without it they are only moved.
	Trainer Teacher
	// IdleTimeout and MaxLifetime bound a web session; 0 means the
	// defaults.
	IdleTimeout time.Duration
	MaxLifetime time.Duration
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger

	mu   sync.Mutex           // guards the KV read-modify-writes, and live
	live map[string]liveEntry // registered web sessions, by key
	// ended are the keys of sessions this process ended, with when, so
	// that a request that read one just before it ended does not put it
	// back in the registry.
	ended map[string]time.Time

	toksOnce sync.Once
	toks     *Tokens
}

// liveEntry is a web session registered in Sessions.
type liveEntry struct {
	id     uint64
	remove func()
	// When the session began and was last used here, so that the
	// registry forgets it once it has expired.
	created, lastSeen time.Time
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) idle() time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return DefaultIdleTimeout
}

func (s *Server) lifetime() time.Duration {
	if s.MaxLifetime > 0 {
		return s.MaxLifetime
	}
	return DefaultMaxLifetime
}

// route is one endpoint: a method, a path under Prefix and what serves it.
type route struct {
	method, path string
	auth         bool // needs a signed-in caller
	serve        func(s *Server, w http.ResponseWriter, r *http.Request, c *caller) error
}

// routes is every endpoint, also the table the fuzz test walks.
var routes = []route{
	{"POST", "session", false, (*Server).login},
	{"DELETE", "session", true, (*Server).logout},
	{"GET", "me", true, (*Server).me},
	{"POST", "stepup", true, (*Server).stepUp},
	{"GET", "activity", true, (*Server).activity},
	{"GET", "sessions", true, (*Server).listSessions},
	{"POST", "sessions/signout", true, (*Server).signOut},
	{"GET", "app-passwords", true, (*Server).listAppPasswords},
	{"POST", "app-passwords", true, (*Server).addAppPassword},
	{"DELETE", "app-passwords/{id}", true, (*Server).revokeAppPassword},
	{"POST", "2fa", true, (*Server).enableTwoStep},
	{"DELETE", "2fa", true, (*Server).disableTwoStep},
	{"PUT", "password", true, (*Server).changePassword},
	{"GET", "recovery-address", true, (*Server).recoveryAddress},
	{"PUT", "recovery-address", true, (*Server).setRecoveryAddress},
	{"GET", "forwarding", true, (*Server).listForwarding},
	{"POST", "forwarding", true, (*Server).addForwarding},
	{"DELETE", "forwarding/{id}", true, (*Server).removeForwarding},
	{"POST", "messages/report", true, (*Server).report},
}

// Handler returns the API's handler, to mount at Prefix.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	known := map[string][]string{}
	for _, rt := range routes {
		mux.Handle(rt.method+" "+Prefix+rt.path, s.endpoint(rt))
		known[rt.path] = append(known[rt.path], rt.method)
	}
	mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &apiError{status: http.StatusNotFound, msg: "no such endpoint: " + r.URL.Path})
	})
	// A known path with another method: 405, naming the methods it takes.
	for path, methods := range known {
		mux.HandleFunc(Prefix+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", strings.Join(methods, ", "))
			writeError(w, &apiError{status: http.StatusMethodNotAllowed,
				msg: fmt.Sprintf("method %s not allowed here: use %s", r.Method, strings.Join(methods, " or "))})
		})
	}
	return mux
}

// endpoint wraps a route with the headers, authentication, CSRF checks
// and error answers every endpoint has.
func (s *Server) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Strict-Transport-Security", "max-age=31536000")
		defer func() {
			if v := recover(); v != nil {
				s.logger().Error("api: panic", "path", r.URL.Path, "panic", v)
				writeError(w, errInternal)
			}
		}()
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		var c *caller
		var err error
		if rt.auth {
			c, err = s.authenticate(r)
		} else {
			err = checkSameSite(r)
		}
		if err == nil {
			err = rt.serve(s, w, r, c)
		}
		if err != nil {
			s.fail(w, r, err)
		}
	})
}

// apiError is a refusal with its status.
type apiError struct {
	status         int
	msg            string
	field          string // the JSON field at fault, if one
	stepUpRequired bool
	codeRequired   bool
}

func (e *apiError) Error() string { return e.msg }

var errInternal = &apiError{status: http.StatusInternalServerError, msg: "internal error; the server's log has the details"}

func badRequest(field, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, field: field, msg: fmt.Sprintf(format, args...)}
}

// fail answers err, translating the account package's errors.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, account.ErrStepUpRequired):
		ae = &apiError{status: http.StatusForbidden, stepUpRequired: true,
			msg: "step-up authentication required: POST /api/v1/stepup with the password (and a code) first"}
	case errors.Is(err, account.ErrLockedOut):
		ae = &apiError{status: http.StatusTooManyRequests, msg: "too many failed attempts: try again later"}
	case errors.Is(err, account.ErrAuthFailed):
		ae = &apiError{status: http.StatusUnauthorized, msg: "wrong address, password or code"}
	case errors.Is(err, account.ErrTwoStepOn), errors.Is(err, account.ErrTwoStepOff):
		ae = &apiError{status: http.StatusConflict, msg: lastPart(err)}
	case errors.Is(err, account.ErrInvalid), errors.Is(err, store.ErrInvalid):
		ae = &apiError{status: http.StatusBadRequest, msg: err.Error()}
	case errors.Is(err, store.ErrNotFound):
		ae = &apiError{status: http.StatusNotFound, msg: err.Error()}
	case errors.Is(err, store.ErrExists):
		ae = &apiError{status: http.StatusConflict, msg: err.Error()}
	case errors.Is(err, context.Canceled):
		return // the client is gone
	default:
		s.logger().Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = errInternal
	}
	writeError(w, ae)
}

// lastPart is what follows the last ": " of an error's text: the reason
// without the account's address.
func lastPart(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"error": e.msg}
	if e.field != "" {
		body["field"] = e.field
	}
	if e.stepUpRequired {
		body["step_up_required"] = true
	}
	if e.codeRequired {
		body["code_required"] = true
	}
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sealpost"`)
	}
	writeJSON(w, e.status, body)
}

// remoteAddr is the request's peer address. The API is served directly,
// never behind a proxy, so no forwarding header is believed.
func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// userAgent is the request's User-Agent, bounded, as a login's client.
func userAgent(r *http.Request) string {
	ua := strings.ToValidUTF8(r.UserAgent(), "?")
	if len(ua) > maxClient {
		ua = strings.ToValidUTF8(ua[:maxClient], "")
	}
	return ua
}
