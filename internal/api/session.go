package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/sessions"
	"sealpost.dev/sealpost/internal/store"
)

// The store.KV namespaces of the API.
const (
	nsSession      = "api-session"       // key: hex SHA-256 of the session ID
	nsSessionIndex = "api-session-index" // key: account ID; value: JSON list of session keys
)

// MaxSessions bounds the web sessions of an account; a new one beyond it
// ends the oldest.
const MaxSessions = 32

// lastSeenEvery is how often a session's last use is written down.
const lastSeenEvery = time.Minute

// webSession is a browser session as kept in store.KV, under the hash of
// its ID: the ID itself is never stored.
type webSession struct {
	PublicID  string         `json:"public_id"` // names it in lists, unrelated to the ID
	AccountID int64          `json:"account_id"`
	Address   string         `json:"address"`
	CSRFHash  []byte         `json:"csrf_hash"`
	Created   time.Time      `json:"created"`
	LastSeen  time.Time      `json:"last_seen"`
	RemoteIP  netip.Addr     `json:"remote_ip"`
	Client    string         `json:"client"`
	StepUp    account.StepUp `json:"step_up"`
}

// caller is who a request comes from: an account, through a web session
// (key and sess set) or a token (tokenKey and token set).
type caller struct {
	account  store.Account
	key      string // the session's KV key
	sess     *webSession
	tokenKey string
	token    *tokenRecord
}

func (c *caller) stepUp() account.StepUp {
	if c.sess != nil {
		return c.sess.StepUp
	}
	return c.token.StepUp
}

// randomSecret returns 32 random bytes (256 bits) in base64url.
func randomSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func hashKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// newSession starts a web session for acc, sets its cookie and returns its
// CSRF token.
func (s *Server) newSession(ctx context.Context, w http.ResponseWriter, r *http.Request, acc store.Account) (string, time.Time, error) {
	id, csrf := randomSecret(), randomSecret()
	now := s.now()
	sum := sha256.Sum256([]byte(csrf))
	sess := &webSession{PublicID: randomID(), AccountID: acc.ID, Address: acc.Address, CSRFHash: sum[:],
		Created: now, LastSeen: now, RemoteIP: remoteAddr(r), Client: userAgent(r)}
	key := hashKey(id)
	expires := now.Add(s.lifetime())
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.putSession(ctx, key, sess); err != nil {
		return "", time.Time{}, err
	}
	var dropped []string
	err := s.editIndex(ctx, acc.ID, func(keys []string) []string {
		keys = append(keys, key)
		if n := len(keys) - MaxSessions; n > 0 {
			dropped, keys = keys[:n], keys[n:]
		}
		return keys
	})
	if err != nil {
		return "", time.Time{}, err
	}
	// The oldest sessions beyond MaxSessions end: logging in again and
	// again must not grow the list without bound.
	for _, k := range dropped {
		s.forgetLocked(k)
		if err := s.Store.DeleteValue(ctx, nsSession, k); err != nil {
			return "", time.Time{}, err
		}
	}
	s.registerLocked(key, sess)
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Expires: expires, MaxAge: int(s.lifetime() / time.Second)})
	return csrf, expires, nil
}

func (s *Server) putSession(ctx context.Context, key string, sess *webSession) error {
	return putRecord(ctx, s.Store, nsSession, key, sess, sess.Created.Add(s.lifetime()))
}

// getSession returns the live session under key, or nil.
func (s *Server) getSession(ctx context.Context, key string) (*webSession, error) {
	sess, err := getRecord[webSession](ctx, s.Store, nsSession, key, "web session")
	if sess == nil || err != nil {
		return nil, err
	}
	now := s.now()
	if now.Sub(sess.LastSeen) > s.idle() || now.Sub(sess.Created) > s.lifetime() {
		return nil, nil
	}
	return sess, nil
}

// editIndex changes the list of an account's session keys; s.mu is held.
func (s *Server) editIndex(ctx context.Context, accountID int64, edit func([]string) []string) error {
	keys, err := readIndex(ctx, s.Store, nsSessionIndex, accountID)
	if err != nil {
		return err
	}
	return writeIndex(ctx, s.Store, nsSessionIndex, accountID, edit(keys), s.now().Add(s.lifetime()))
}

// accountSessions returns the live web sessions of an account, by key,
// dropping from its list those that ended.
func (s *Server) accountSessions(ctx context.Context, accountID int64) (map[string]*webSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	live := map[string]*webSession{}
	var failed error
	err := s.editIndex(ctx, accountID, func(keys []string) []string {
		keys, failed = pruneIndex(keys, func(k string) (*webSession, error) { return s.getSession(ctx, k) },
			func(w *webSession) int64 { return w.AccountID }, accountID, live)
		return keys
	})
	if failed != nil {
		return nil, failed
	}
	return live, err
}

// endSession ends the web session under key: it is deleted, and leaves the
// registry.
func (s *Server) endSession(ctx context.Context, key string, accountID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forgetLocked(key)
	if err := s.Store.DeleteValue(ctx, nsSession, key); err != nil {
		return err
	}
	return s.editIndex(ctx, accountID, func(keys []string) []string {
		return slices.DeleteFunc(keys, func(k string) bool { return k == key })
	})
}

// EndSessions ends every web session of an account, those this process
// has not registered included: for the account.Service's EndSessions,
// beside the registry's SignOut.
func (s *Server) EndSessions(accountID int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.endOtherSessions(ctx, accountID, ""); err != nil {
		s.logger().Warn("api: ending web sessions", "account", accountID, "err", err)
	}
}

// endOtherSessions ends every web session of an account but the one under
// except, and returns how many it ended.
func (s *Server) endOtherSessions(ctx context.Context, accountID int64, except string) (int, error) {
	live, err := s.accountSessions(ctx, accountID)
	if err != nil {
		return 0, err
	}
	n := 0
	for key := range live {
		if key == except {
			continue
		}
		if err := s.endSession(ctx, key, accountID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// registerLocked puts a web session in the registry, unless it is there;
// s.mu is held. Ending it through the registry deletes it.
func (s *Server) registerLocked(key string, sess *webSession) {
	if s.Sessions == nil {
		return
	}
	if e, ok := s.live[key]; ok {
		e.lastSeen = s.now()
		s.live[key] = e
		return
	}
	if _, ok := s.ended[key]; ok {
		return
	}
	s.forgetExpiredLocked()
	if s.live == nil {
		s.live = map[string]liveEntry{}
	}
	id, remove := s.Sessions.Add(sessions.Info{AccountID: sess.AccountID, Address: sess.Address, Protocol: "web",
		RemoteIP: sess.RemoteIP, Client: sess.Client, Started: sess.Created}, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.endSession(ctx, key, sess.AccountID); err != nil {
			s.logger().Warn("api: ending a web session", "account", sess.Address, "err", err)
		}
	})
	s.live[key] = liveEntry{id: id, remove: remove, created: sess.Created, lastSeen: s.now()}
}

// forgetExpiredLocked takes the web sessions that have expired, by what
// this process saw of them, out of the registry; s.mu is held. Their
// stored records expire by themselves.
func (s *Server) forgetExpiredLocked() {
	now := s.now()
	for key, t := range s.ended {
		if now.Sub(t) > s.lifetime() {
			delete(s.ended, key)
		}
	}
	for key, e := range s.live {
		if now.Sub(e.lastSeen) > s.idle() || now.Sub(e.created) > s.lifetime() {
			e.remove()
			delete(s.live, key)
		}
	}
}

// forgetLocked takes an ended session out of the registry for good; s.mu
// is held.
func (s *Server) forgetLocked(key string) {
	if e, ok := s.live[key]; ok {
		e.remove()
		delete(s.live, key)
	}
	if s.ended == nil {
		s.ended = map[string]time.Time{}
	}
	s.ended[key] = s.now()
}

// registryID is the registry's ID of a web session, 0 if not registered.
func (s *Server) registryID(key string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live[key].id
}

// authenticate finds the caller of a request: a bearer token, or a
// session cookie with, for unsafe methods, the CSRF checks.
func (s *Server) authenticate(r *http.Request) (*caller, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		return s.tokenCaller(ctx, r, h)
	}
	cookie, err := r.Cookie(CookieName)
	if err != nil || cookie.Value == "" {
		return nil, &apiError{status: http.StatusUnauthorized, msg: "not signed in: POST /api/v1/session, or send a bearer token"}
	}
	key := hashKey(cookie.Value)
	sess, err := s.getSession(ctx, key)
	if err != nil {
		return nil, err
	}
	if sess == nil {
		s.mu.Lock()
		s.forgetExpiredLocked()
		s.mu.Unlock()
		return nil, &apiError{status: http.StatusUnauthorized, msg: "the session has ended or expired: sign in again"}
	}
	if unsafeMethod(r.Method) {
		if err := checkCSRF(r, sess); err != nil {
			return nil, err
		}
	}
	acc, err := s.liveAccount(ctx, sess.Address, sess.AccountID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.registerLocked(key, sess)
	s.mu.Unlock()
	if s.now().Sub(sess.LastSeen) >= lastSeenEvery {
		err := s.updateSession(ctx, key, func(ws *webSession) { ws.LastSeen = s.now() })
		if err != nil {
			return nil, err
		}
	}
	return &caller{account: acc, key: key, sess: sess}, nil
}

// updateSession changes the stored session under key, if it still lives.
func (s *Server) updateSession(ctx context.Context, key string, edit func(*webSession)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, err := s.getSession(ctx, key)
	if err != nil || sess == nil {
		return err
	}
	edit(sess)
	return s.putSession(ctx, key, sess)
}

// liveAccount returns the account a session or token was made for, if it
// is still there and enabled.
func (s *Server) liveAccount(ctx context.Context, address string, id int64) (store.Account, error) {
	acc, err := s.Store.GetAccount(ctx, address)
	if errors.Is(err, store.ErrNotFound) || err == nil && acc.ID != id {
		return store.Account{}, &apiError{status: http.StatusUnauthorized, msg: "the account is gone"}
	}
	if err != nil {
		return store.Account{}, err
	}
	if acc.Disabled {
		return store.Account{}, &apiError{status: http.StatusForbidden, msg: "the account is disabled"}
	}
	return acc, nil
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// checkCSRF refuses an unsafe request on a session without the session's
// CSRF token, or from another site.
func checkCSRF(r *http.Request, sess *webSession) error {
	if err := checkSameSite(r); err != nil {
		return err
	}
	token := r.Header.Get("X-CSRF-Token")
	if token == "" {
		return &apiError{status: http.StatusForbidden, msg: "the X-CSRF-Token header is missing: send the csrf_token the login answered"}
	}
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(sum[:], sess.CSRFHash) != 1 {
		return &apiError{status: http.StatusForbidden, msg: "the X-CSRF-Token header is wrong for this session"}
	}
	return nil
}

// checkSameSite refuses a request a browser says comes from another site
// (Fetch Metadata, and the Origin header of RFC 6454 section 7). Clients
// that send neither, like curl, pass.
func checkSameSite(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return &apiError{status: http.StatusForbidden, msg: "cross-site request refused (Sec-Fetch-Site: " + truncate(site, 40) + ")"}
	}
	if origin := r.Header.Get("Origin"); origin != "" && !strings.EqualFold(origin, "https://"+r.Host) {
		return &apiError{status: http.StatusForbidden, msg: "request from another origin refused"}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "?")
}
