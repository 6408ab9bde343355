package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/store"
)

// Bounds on the fields of request bodies, in bytes.
const (
	maxAddress  = 254 // RFC 5321 section 4.5.3.1.3, as a path
	maxPassword = 1024
	maxCode     = 64
	maxAppName  = 64
)

// Bounds on GET /activity.
const (
	defaultActivity = 100
	maxActivity     = 1000
)

type loginRequest struct {
	Address  string `json:"address"`
	Password string `json:"password"`
	Code     string `json:"code"`
}

func (q *loginRequest) check() error {
	for _, f := range []struct {
		name, v  string
		required bool
		max      int
	}{{"address", q.Address, true, maxAddress}, {"password", q.Password, true, maxPassword}, {"code", q.Code, false, maxCode}} {
		if err := text(f.name, f.v, f.required, f.max); err != nil {
			return err
		}
	}
	return nil
}

// login is POST /session.
func (s *Server) login(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var q loginRequest
	if err := decode(r, &q, false); err != nil {
		return err
	}
	if err := q.check(); err != nil {
		return err
	}
	ctx := r.Context()
	attempt := account.Attempt{Protocol: "web", Username: q.Address, Password: q.Password,
		RemoteIP: remoteAddr(r), Client: userAgent(r), Method: "password"}
	l, err := s.Accounts.Login(ctx, attempt)
	if err != nil {
		return err
	}
	if err := s.secondStep(ctx, attempt, l.Account, q.Code); err != nil {
		return err
	}
	csrf, expires, err := s.newSession(ctx, w, r, l.Account)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"address": l.Account.Address, "csrf_token": csrf, "expires": expires.UTC(),
		"idle_timeout_seconds": int(s.idle() / time.Second),
	})
	return nil
}

// secondStep checks the TOTP or recovery code of a login whose password
// was right, when the account has 2-step verification on. The check is
// admitted and counted by the Guard, and logged, like the password's.
func (s *Server) secondStep(ctx context.Context, a account.Attempt, acc store.Account, code string) error {
	on, err := s.Accounts.TwoStepEnabled(ctx, acc.ID)
	if err != nil || !on {
		return err
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return &apiError{status: http.StatusUnauthorized, codeRequired: true,
			msg: "2-step verification is on: send the code of the authenticator app, or a recovery code, in \"code\""}
	}
	if g := s.Accounts.Guard; g != nil && a.RemoteIP.IsValid() {
		if err := g.Admit(ctx, a.RemoteIP, acc.Address); err != nil {
			if errors.Is(err, account.ErrLockedOut) {
				return fmt.Errorf("%w: %w", account.ErrAuthFailed, err)
			}
			return err
		}
	}
	method := "totp"
	if strings.ContainsFunc(code, func(r rune) bool { return r < '0' || r > '9' }) {
		method = "recovery-code"
		err = s.Accounts.UseRecoveryCode(ctx, acc.ID, code)
	} else {
		err = s.Accounts.VerifyTOTP(ctx, acc.ID, code)
	}
	if err != nil && !errors.Is(err, account.ErrAuthFailed) {
		return err
	}
	if g := s.Accounts.Guard; g != nil && a.RemoteIP.IsValid() {
		g.Record(ctx, a.RemoteIP, acc.Address, err == nil)
	}
	entry := store.LogEntry{Kind: "login", AccountID: acc.ID, Protocol: "web", RemoteIP: a.RemoteIP,
		Client: a.Client, Method: method, Outcome: "ok", Detail: "2-step verification"}
	if err != nil {
		entry.Outcome, entry.Detail = "fail", "password right, "+lastPart(err)
	}
	if _, lerr := s.Store.AppendLog(context.WithoutCancel(ctx), entry); lerr != nil {
		s.logger().Warn("api: recording a 2-step login", "account", acc.Address, "err", lerr)
	}
	return err
}

// logout is DELETE /session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, c *caller) error {
	if c.sess == nil {
		return &apiError{status: http.StatusBadRequest, msg: "a bearer token has no session to end: the administrator revokes tokens"}
	}
	if err := s.endSession(r.Context(), c.key, c.account.ID); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	writeJSON(w, http.StatusOK, map[string]any{"signed_out": true})
	return nil
}

// me is GET /me.
func (s *Server) me(w http.ResponseWriter, r *http.Request, c *caller) error {
	ctx := r.Context()
	on, err := s.Accounts.TwoStepEnabled(ctx, c.account.ID)
	if err != nil {
		return err
	}
	recovery, err := s.Accounts.RecoveryAddress(ctx, c.account.Address)
	if err != nil {
		return err
	}
	body := map[string]any{
		"address": c.account.Address, "two_step": on, "recovery_address": recovery,
		"quota_bytes": c.account.QuotaBytes, "used_bytes": c.account.UsedBytes,
		"auth": "session", "step_up_until": s.stepUpUntil(c),
	}
	if c.token != nil {
		body["auth"], body["token"] = "token", c.token.Name
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// stepUpUntil is when the caller's step-up ends, nil when it has none.
func (s *Server) stepUpUntil(c *caller) *time.Time {
	su := c.stepUp()
	if s.Accounts.RequireStepUp(su, c.account.ID) != nil {
		return nil
	}
	t := su.Time.Add(account.StepUpWindow).UTC()
	return &t
}

type stepUpRequest struct {
	Password string `json:"password"`
	Code     string `json:"code"`
}

// stepUp is POST /stepup.
func (s *Server) stepUp(w http.ResponseWriter, r *http.Request, c *caller) error {
	var q stepUpRequest
	if err := decode(r, &q, false); err != nil {
		return err
	}
	if err := text("password", q.Password, true, maxPassword); err != nil {
		return err
	}
	if err := text("code", q.Code, false, maxCode); err != nil {
		return err
	}
	ctx := r.Context()
	su, err := s.Accounts.StepUpAttempt(ctx, account.Attempt{Protocol: "web", Username: c.account.Address,
		Password: q.Password, RemoteIP: remoteAddr(r), Client: userAgent(r)}, strings.TrimSpace(q.Code))
	if err != nil {
		return err
	}
	if c.sess != nil {
		err = s.updateSession(ctx, c.key, func(ws *webSession) { ws.StepUp = su })
	} else {
		err = s.tokens().update(ctx, c.tokenKey, func(t *tokenRecord) { t.StepUp = su })
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"step_up_until": su.Time.Add(account.StepUpWindow).UTC()})
	return nil
}

// activityEntry is a login log entry as the API shows it.
type activityEntry struct {
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"`
	Protocol   string    `json:"protocol"`
	RemoteIP   string    `json:"remote_ip,omitempty"`
	ReverseDNS string    `json:"reverse_dns,omitempty"`
	Client     string    `json:"client,omitempty"`
	Method     string    `json:"method,omitempty"`
	Outcome    string    `json:"outcome"`
	Detail     string    `json:"detail,omitempty"`
}

// activity is GET /activity?limit=N&since=RFC3339.
func (s *Server) activity(w http.ResponseWriter, r *http.Request, c *caller) error {
	limit, since, err := activityQuery(r)
	if err != nil {
		return err
	}
	es, err := s.Accounts.Activity(r.Context(), c.account.Address, since, limit)
	if err != nil {
		return err
	}
	out := []activityEntry{}
	for _, e := range es {
		out = append(out, activityEntry{Time: e.Time.UTC(), Kind: e.Kind, Protocol: e.Protocol, RemoteIP: ipString(e.RemoteIP),
			ReverseDNS: e.ReverseDNS, Client: e.Client, Method: e.Method, Outcome: e.Outcome, Detail: e.Detail})
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": out})
	return nil
}

func activityQuery(r *http.Request) (int, time.Time, error) {
	q := r.URL.Query()
	limit := defaultActivity
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxActivity {
			return 0, time.Time{}, badRequest("limit", "limit must be a number from 1 to %d", maxActivity)
		}
		limit = n
	}
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return 0, time.Time{}, badRequest("since", "since must be a time in RFC 3339 form, like 2026-11-22T10:00:00Z")
		}
		since = t
	}
	return limit, since, nil
}

// sessionEntry is a live session as the API shows it.
type sessionEntry struct {
	ID          string     `json:"id"`
	Protocol    string     `json:"protocol"`
	RemoteIP    string     `json:"remote_ip,omitempty"`
	Client      string     `json:"client,omitempty"`
	AppPassword int64      `json:"app_password,omitempty"`
	Started     time.Time  `json:"started"`
	LastSeen    *time.Time `json:"last_seen,omitempty"`
	Current     bool       `json:"current,omitempty"`
}

// listSessions is GET /sessions: the live protocol sessions and the web
// sessions of the account, the caller's marked.
func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, c *caller) error {
	web, err := s.accountSessions(r.Context(), c.account.ID)
	if err != nil {
		return err
	}
	out := []sessionEntry{}
	for key, ws := range web {
		seen := ws.LastSeen.UTC()
		out = append(out, sessionEntry{ID: "web-" + ws.PublicID, Protocol: "web", RemoteIP: ipString(ws.RemoteIP),
			Client: ws.Client, Started: ws.Created.UTC(), LastSeen: &seen, Current: key == c.key})
	}
	if s.Sessions != nil {
		for _, i := range s.Sessions.List(c.account.ID) {
			if i.Protocol == "web" {
				continue // listed above, with what the registry lacks
			}
			out = append(out, sessionEntry{ID: strconv.FormatUint(i.ID, 10), Protocol: i.Protocol, RemoteIP: ipString(i.RemoteIP),
				Client: i.Client, AppPassword: i.AppPassword, Started: i.Started.UTC()})
		}
	}
	slices.SortFunc(out, func(a, b sessionEntry) int { return a.Started.Compare(b.Started) })
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
	return nil
}

type signOutRequest struct {
	RevokeAppPasswords bool `json:"revoke_app_passwords"`
}

// signOut is POST /sessions/signout: every other session ends, web and
// protocol, and the app passwords too if asked.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request, c *caller) error {
	var q signOutRequest
	if err := decode(r, &q, true); err != nil {
		return err
	}
	ctx := r.Context()
	revoked := 0
	if q.RevokeAppPasswords {
		ps, err := s.Accounts.ListAppPasswords(ctx, c.account.Address)
		if err != nil {
			return err
		}
		for _, p := range ps {
			if _, err := s.Accounts.RevokeAppPassword(ctx, c.account.Address, strconv.FormatInt(p.ID, 10)); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			revoked++
		}
	}
	ended := 0
	if s.Sessions != nil {
		ended = s.Sessions.SignOut(c.account.ID, s.registryID(c.key))
	}
	// The web sessions this process never registered (made before a
	// restart, or by another process) end here.
	more, err := s.endOtherSessions(ctx, c.account.ID, c.key)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions_ended": ended + more, "app_passwords_revoked": revoked})
	return nil
}

// appPasswordEntry is an app password as the API shows it.
type appPasswordEntry struct {
	ID       int64      `json:"id"`
	Name     string     `json:"name"`
	Scopes   []string   `json:"scopes"`
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"last_used"`
	LastIP   string     `json:"last_ip,omitempty"`
	Password string     `json:"password,omitempty"` // only when just made
}

func appPasswordOf(p store.AppPassword) appPasswordEntry {
	e := appPasswordEntry{ID: p.ID, Name: p.Name, Scopes: p.Scopes, Created: p.Created.UTC(), LastIP: ipString(p.LastIP)}
	if !p.LastUsed.IsZero() {
		t := p.LastUsed.UTC()
		e.LastUsed = &t
	}
	return e
}

// listAppPasswords is GET /app-passwords.
func (s *Server) listAppPasswords(w http.ResponseWriter, r *http.Request, c *caller) error {
	ps, err := s.Accounts.ListAppPasswords(r.Context(), c.account.Address)
	if err != nil {
		return err
	}
	out := []appPasswordEntry{}
	for _, p := range ps {
		out = append(out, appPasswordOf(p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"app_passwords": out})
	return nil
}

type appPasswordRequest struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

// addAppPassword is POST /app-passwords (step-up).
func (s *Server) addAppPassword(w http.ResponseWriter, r *http.Request, c *caller) error {
	var q appPasswordRequest
	if err := decode(r, &q, false); err != nil {
		return err
	}
	if err := text("name", q.Name, true, maxAppName); err != nil {
		return err
	}
	if len(q.Scopes) == 0 || len(q.Scopes) > 3 {
		return badRequest("scopes", "field \"scopes\" must list 1 to 3 of imap, pop3, smtp")
	}
	for _, sc := range q.Scopes {
		if !slices.Contains([]string{store.ScopeIMAP, store.ScopePOP3, store.ScopeSMTP}, sc) {
			return badRequest("scopes", "field \"scopes\": %q is not one of imap, pop3, smtp", truncate(sc, 20))
		}
	}
	p, password, err := s.Accounts.AddAppPasswordStepUp(r.Context(), c.stepUp(), c.account.Address, q.Name, q.Scopes)
	if err != nil {
		return err
	}
	e := appPasswordOf(p)
	e.Password = password
	writeJSON(w, http.StatusCreated, e)
	return nil
}

// revokeAppPassword is DELETE /app-passwords/{id}.
func (s *Server) revokeAppPassword(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := pathID(r, "the app password's")
	if err != nil {
		return err
	}
	ctx := r.Context()
	// RevokeAppPassword would take the digits for a name when no ID
	// matches: here they are an ID only.
	ps, err := s.Accounts.ListAppPasswords(ctx, c.account.Address)
	if err != nil {
		return err
	}
	notFound := &apiError{status: http.StatusNotFound, msg: fmt.Sprintf("no app password with ID %d", id)}
	if !slices.ContainsFunc(ps, func(p store.AppPassword) bool { return p.ID == id }) {
		return notFound
	}
	p, err := s.Accounts.RevokeAppPassword(ctx, c.account.Address, strconv.FormatInt(id, 10))
	if errors.Is(err, store.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"revoked": appPasswordOf(p)})
	return nil
}

// enableTwoStep is POST /2fa (step-up).
func (s *Server) enableTwoStep(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := decode(r, &struct{}{}, true); err != nil {
		return err
	}
	if err := s.Accounts.RequireStepUp(c.stepUp(), c.account.ID); err != nil {
		return err
	}
	ts, err := s.Accounts.EnableTwoStep(r.Context(), c.account.Address)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"otpauth_uri": ts.URI, "secret": ts.Secret, "recovery_codes": ts.RecoveryCodes})
	return nil
}

// disableTwoStep is DELETE /2fa (step-up).
func (s *Server) disableTwoStep(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := s.Accounts.DisableTwoStepStepUp(r.Context(), c.stepUp(), c.account.Address); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"two_step": false})
	return nil
}

type passwordRequest struct {
	Password string `json:"password"`
}

// changePassword is PUT /password (step-up). Every session of the account
// ends, the caller's too; a session caller gets a new one, with a new
// cookie and CSRF token, so that an old cookie is worth nothing.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, c *caller) error {
	var q passwordRequest
	if err := decode(r, &q, false); err != nil {
		return err
	}
	if err := text("password", q.Password, true, maxPassword); err != nil {
		return err
	}
	ctx := r.Context()
	if err := s.Accounts.ChangePassword(ctx, c.stepUp(), c.account.Address, q.Password); err != nil {
		return err
	}
	// The Service ends the registered sessions; these are the others.
	if s.Sessions != nil {
		s.Sessions.SignOut(c.account.ID, 0)
	}
	if _, err := s.endOtherSessions(ctx, c.account.ID, ""); err != nil {
		return err
	}
	body := map[string]any{"password_changed": true}
	if c.sess != nil {
		csrf, expires, err := s.newSession(ctx, w, r, c.account)
		if err != nil {
			return err
		}
		body["csrf_token"], body["expires"] = csrf, expires.UTC()
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// recoveryAddress is GET /recovery-address.
func (s *Server) recoveryAddress(w http.ResponseWriter, r *http.Request, c *caller) error {
	a, err := s.Accounts.RecoveryAddress(r.Context(), c.account.Address)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"recovery_address": a})
	return nil
}

type recoveryRequest struct {
	RecoveryAddress *string `json:"recovery_address"`
}

// setRecoveryAddress is PUT /recovery-address (step-up); "" removes it.
func (s *Server) setRecoveryAddress(w http.ResponseWriter, r *http.Request, c *caller) error {
	var q recoveryRequest
	if err := decode(r, &q, false); err != nil {
		return err
	}
	if q.RecoveryAddress == nil {
		return badRequest("recovery_address", "field \"recovery_address\" is missing (\"\" removes the address)")
	}
	if err := text("recovery_address", *q.RecoveryAddress, false, maxAddress); err != nil {
		return err
	}
	err := s.Accounts.SetRecoveryAddress(r.Context(), c.stepUp(), c.account.Address, strings.TrimSpace(*q.RecoveryAddress))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"recovery_address": strings.TrimSpace(*q.RecoveryAddress)})
	return nil
}

// pathID reads the {id} of a path, a positive number; whose names the
// thing in the error.
func pathID(r *http.Request, whose string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("id", "%s ID must be a positive number", whose)
	}
	return id, nil
}
