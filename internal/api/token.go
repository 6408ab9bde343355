package api

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/store"
)

// The store.KV namespaces of the tokens.
const (
	nsToken      = "api-token"       // key: hex SHA-256 of the token
	nsTokenIndex = "api-token-index" // key: account ID; value: JSON list of token keys
)

// TokenPrefix starts every token, so that one found in a file or a log
// is recognised for what it is.
const TokenPrefix = "sp_"

// DefaultTokenLifetime is how long a token lives unless told otherwise.
const DefaultTokenLifetime = 365 * 24 * time.Hour

// MaxTokenName bounds a token's name, in bytes.
const MaxTokenName = 64

// Token describes an API token; never the token itself.
type Token struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Created  time.Time  `json:"created"`
	Expires  time.Time  `json:"expires"`
	LastUsed *time.Time `json:"last_used"`
	LastIP   string     `json:"last_ip,omitempty"`
}

// tokenRecord is a token as kept in store.KV, under its hash.
type tokenRecord struct {
	Token
	AccountID int64          `json:"account_id"`
	Address   string         `json:"address"`
	StepUp    account.StepUp `json:"step_up"`
}

// Tokens manages the API tokens in a store; the administrator's command
// line uses it, the Server checks them.
type Tokens struct {
	Store store.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	mu  sync.Mutex // the index read-modify-writes
}

func (t *Tokens) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Add makes a token named name for acc, valid for lifetime (0 means
// DefaultTokenLifetime), and returns it with the token, shown this once.
// Names are unique per account.
func (t *Tokens) Add(ctx context.Context, acc store.Account, name string, lifetime time.Duration) (Token, string, error) {
	name = strings.TrimSpace(name)
	if err := text("name", name, true, MaxTokenName); err != nil {
		return Token{}, "", fmt.Errorf("%w: token name: %v", account.ErrInvalid, err)
	}
	if lifetime <= 0 {
		lifetime = DefaultTokenLifetime
	}
	list, err := t.List(ctx, acc.ID)
	if err != nil {
		return Token{}, "", err
	}
	if slices.ContainsFunc(list, func(k Token) bool { return k.Name == name }) {
		return Token{}, "", fmt.Errorf("token %q of %s: %w", name, acc.Address, store.ErrExists)
	}
	secret := TokenPrefix + randomSecret()
	now := t.now().UTC().Truncate(time.Second)
	rec := tokenRecord{Token: Token{ID: randomID(), Name: name, Created: now, Expires: now.Add(lifetime)},
		AccountID: acc.ID, Address: acc.Address}
	key := hashKey(secret)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.put(ctx, key, &rec); err != nil {
		return Token{}, "", err
	}
	err = t.editIndex(ctx, acc.ID, rec.Expires, func(keys []string) []string { return append(keys, key) })
	return rec.Token, secret, err
}

// List returns an account's live tokens, oldest first.
func (t *Tokens) List(ctx context.Context, accountID int64) ([]Token, error) {
	recs, err := t.records(ctx, accountID)
	if err != nil {
		return nil, err
	}
	list := []Token{}
	for _, r := range recs {
		list = append(list, r.Token)
	}
	slices.SortFunc(list, func(a, b Token) int { return a.Created.Compare(b.Created) })
	return list, nil
}

// Revoke deletes an account's token named by its ID or name, and returns it.
func (t *Tokens) Revoke(ctx context.Context, accountID int64, idOrName string) (Token, error) {
	recs, err := t.records(ctx, accountID)
	if err != nil {
		return Token{}, err
	}
	for key, r := range recs {
		if r.ID == idOrName || r.Name == strings.TrimSpace(idOrName) {
			t.mu.Lock()
			defer t.mu.Unlock()
			if err := t.Store.DeleteValue(ctx, nsToken, key); err != nil {
				return Token{}, err
			}
			err := t.editIndex(ctx, accountID, time.Time{}, func(keys []string) []string {
				return slices.DeleteFunc(keys, func(k string) bool { return k == key })
			})
			return r.Token, err
		}
	}
	return Token{}, fmt.Errorf("token %q: %w", idOrName, store.ErrNotFound)
}

// records returns an account's live tokens by key, dropping the expired
// and revoked from its list.
func (t *Tokens) records(ctx context.Context, accountID int64) (map[string]*tokenRecord, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	recs := map[string]*tokenRecord{}
	var failed error
	err := t.editIndex(ctx, accountID, time.Time{}, func(keys []string) []string {
		keys, failed = pruneIndex(keys, func(k string) (*tokenRecord, error) { return t.get(ctx, k) },
			func(r *tokenRecord) int64 { return r.AccountID }, accountID, recs)
		return keys
	})
	if failed != nil {
		return nil, failed
	}
	return recs, err
}

func (t *Tokens) put(ctx context.Context, key string, r *tokenRecord) error {
	return putRecord(ctx, t.Store, nsToken, key, r, r.Expires)
}

// get returns the live token under key, or nil.
func (t *Tokens) get(ctx context.Context, key string) (*tokenRecord, error) {
	r, err := getRecord[tokenRecord](ctx, t.Store, nsToken, key, "api token")
	if r == nil || err != nil || !t.now().Before(r.Expires) {
		return nil, err
	}
	return r, nil
}

// editIndex changes the list of an account's token keys, which lives at
// least until expires; t.mu is held.
func (t *Tokens) editIndex(ctx context.Context, accountID int64, expires time.Time, edit func([]string) []string) error {
	keys, err := readIndex(ctx, t.Store, nsTokenIndex, accountID)
	if err != nil {
		return err
	}
	before := len(keys)
	if keys = edit(keys); len(keys) == before && len(keys) > 0 && expires.IsZero() {
		return nil
	}
	// The list outlives every token on it: the longest a token lives.
	end := t.now().Add(10 * DefaultTokenLifetime)
	if expires.After(end) {
		end = expires
	}
	return writeIndex(ctx, t.Store, nsTokenIndex, accountID, keys, end)
}

// update changes the stored token under key, if it still lives.
func (t *Tokens) update(ctx context.Context, key string, edit func(*tokenRecord)) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, err := t.get(ctx, key)
	if err != nil || r == nil {
		return err
	}
	edit(r)
	return t.put(ctx, key, r)
}

// maxTokenLen bounds the Authorization header looked at.
const maxTokenLen = 128

// tokenCaller authenticates a request by its bearer token.
func (s *Server) tokenCaller(ctx context.Context, r *http.Request, header string) (*caller, error) {
	scheme, secret, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, &apiError{status: http.StatusUnauthorized, msg: `the Authorization header must be "Bearer TOKEN"`}
	}
	secret = strings.TrimSpace(secret)
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > maxTokenLen {
		return nil, &apiError{status: http.StatusUnauthorized, msg: "not an API token"}
	}
	toks := s.tokens()
	key := hashKey(secret)
	rec, err := toks.get(ctx, key)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, &apiError{status: http.StatusUnauthorized, msg: "the token is unknown, revoked or expired"}
	}
	acc, err := s.liveAccount(ctx, rec.Address, rec.AccountID)
	if err != nil {
		return nil, err
	}
	ip := remoteAddr(r)
	now := s.now().UTC()
	if rec.LastUsed == nil || now.Sub(*rec.LastUsed) >= lastSeenEvery || rec.LastIP != ipString(ip) {
		err := toks.update(ctx, key, func(t *tokenRecord) { t.LastUsed, t.LastIP = &now, ipString(ip) })
		if err != nil {
			return nil, err
		}
	}
	return &caller{account: acc, tokenKey: key, token: rec}, nil
}

func (s *Server) tokens() *Tokens {
	s.toksOnce.Do(func() { s.toks = &Tokens{Store: s.Store, Now: s.Now} })
	return s.toks
}

func ipString(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.String()
}
