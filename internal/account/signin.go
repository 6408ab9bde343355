package account

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// The memory of where an account signs in from, for AlertNewSignIn.
const (
	// SignInMemory is how long a network or client an account signed in
	// from counts as known.
	SignInMemory = 90 * 24 * time.Hour
	// signInNamespace is the store.KV namespace of the places, by account
	// ID. The value outlives SignInMemory so that a login after a long
	// silence is still told from an account's very first.
	signInNamespace = "sign-ins"
	signInValueLife = 10 * 365 * 24 * time.Hour
	// maxSignInPlaces bounds the places kept per account, most recent
	// first.
	maxSignInPlaces = 32
	// maxSignInClient bounds the client name kept, in bytes.
	maxSignInClient = 128
	// recentSignIns is how many places per account are remembered in
	// memory, so that a repeated login costs no store access, and
	// recentSignInLife how long before the store's record is refreshed.
	recentSignIns    = 4
	recentSignInLife = 24 * time.Hour
	// maxRecentAccounts bounds the accounts remembered in memory.
	maxRecentAccounts = 10000
)

// signInPlace is where a login came from: the network (IPv4 /24, IPv6
// /64) and the client's name.
type signInPlace struct {
	network string
	client  string
}

// recentSignInSet remembers, per account, the last places whose record in
// the store is fresh.
type recentSignInSet struct {
	mu       sync.Mutex
	accounts map[int64][]recentPlace
}

type recentPlace struct {
	place signInPlace
	at    time.Time
}

func (r *recentSignInSet) known(accountID int64, p signInPlace, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rp := range r.accounts[accountID] {
		if rp.place == p && now.Sub(rp.at) < recentSignInLife && !rp.at.After(now) {
			return true
		}
	}
	return false
}

func (r *recentSignInSet) remember(accountID int64, p signInPlace, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.accounts == nil || len(r.accounts) >= maxRecentAccounts {
		// Forgetting everything costs one store read per account later.
		r.accounts = make(map[int64][]recentPlace)
	}
	ps := slices.DeleteFunc(r.accounts[accountID], func(rp recentPlace) bool { return rp.place == p })
	ps = append([]recentPlace{{p, now}}, ps...)
	r.accounts[accountID] = ps[:min(len(ps), recentSignIns)]
}

func (r *recentSignInSet) forget(accountID int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.accounts, accountID)
}

// noteSignIn records a successful login's place and raises AlertNewSignIn
// when its network or its client was not seen on the account within
// SignInMemory, unless it is the account's first login. A login repeating
// one of the last places costs nothing; another costs one read and one
// write of store.KV. Failures are logged: the login stands.
func (s *Service) noteSignIn(ctx context.Context, a Attempt, acc store.Account) {
	p := signInPlace{network: networkOf(a.RemoteIP), client: cleanClient(a.Client)}
	now := s.now()
	if s.recent.known(acc.ID, p, now) {
		return
	}
	ctx = context.WithoutCancel(ctx)
	key := strconv.FormatInt(acc.ID, 10)
	raw, err := s.Store.GetValue(ctx, signInNamespace, key)
	first := errors.Is(err, store.ErrNotFound)
	if err != nil && !first {
		s.logger().Warn("reading where an account signed in from", "account", acc.Address, "err", err)
		return
	}
	places := parseSignIns(raw, now)
	newNetwork := !slices.ContainsFunc(places, func(rp recentPlace) bool { return rp.place.network == p.network })
	newClient := !slices.ContainsFunc(places, func(rp recentPlace) bool { return rp.place.client == p.client })
	places = slices.DeleteFunc(places, func(rp recentPlace) bool { return rp.place == p })
	places = append([]recentPlace{{p, now}}, places...)
	places = places[:min(len(places), maxSignInPlaces)]
	if err := s.Store.PutValue(ctx, signInNamespace, key, formatSignIns(places), now.Add(signInValueLife)); err != nil {
		s.logger().Warn("recording where an account signed in from", "account", acc.Address, "err", err)
		return
	}
	s.recent.remember(acc.ID, p, now)
	if first || (!newNetwork && !newClient) {
		return
	}
	s.alert(ctx, Alert{AccountID: acc.ID, Kind: AlertNewSignIn, Time: now, RemoteIP: a.RemoteIP, Client: a.Client,
		Detail: signInDetail(a, p, newNetwork, newClient)})
}

func signInDetail(a Attempt, p signInPlace, newNetwork, newClient bool) string {
	var what []string
	if newNetwork {
		what = append(what, fmt.Sprintf("from a network (%s) not seen", cmp.Or(p.network, "unknown")))
	}
	if newClient {
		what = append(what, fmt.Sprintf("with a client (%q) not seen", p.client))
	}
	return fmt.Sprintf("A sign-in over %s %s on this account in the last %d days.",
		strings.ToUpper(a.Protocol), strings.Join(what, " and "), int(SignInMemory/(24*time.Hour)))
}

// networkOf is the network of ip a login is counted under: its /24 for
// IPv4, its /64 for IPv6, "" when there is none.
func networkOf(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	ip = ip.Unmap().WithZone("")
	bits := 64
	if ip.Is4() {
		bits = 24
	}
	p, _ := ip.Prefix(bits) // never fails: bits fits both families
	return p.String()
}

// cleanClient makes a client name fit one field of the record: printable,
// without tabs, bounded.
func cleanClient(c string) string {
	c = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7F {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(c, "?"))
	return truncate(strings.TrimSpace(c), maxSignInClient)
}

// formatSignIns writes places one a line: network, client and Unix time,
// separated by tabs (which cleanClient keeps out of client names).
func formatSignIns(places []recentPlace) []byte {
	var b strings.Builder
	for _, rp := range places {
		fmt.Fprintf(&b, "%s\t%s\t%d\n", rp.place.network, rp.place.client, rp.at.Unix())
	}
	return []byte(b.String())
}

// parseSignIns reads what formatSignIns wrote, keeping the places seen
// within SignInMemory of now; it skips what it cannot read.
func parseSignIns(raw []byte, now time.Time) []recentPlace {
	var places []recentPlace
	for line := range strings.Lines(string(raw)) {
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		if len(f) != 3 {
			continue
		}
		unix, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			continue
		}
		at := time.Unix(unix, 0)
		if now.Sub(at) > SignInMemory {
			continue
		}
		places = append(places, recentPlace{signInPlace{f[0], f[1]}, at})
	}
	return places
}

// forgetSignIns drops the places of a deleted account.
func (s *Service) forgetSignIns(ctx context.Context, accountID int64) {
	s.recent.forget(accountID)
	if err := s.Store.DeleteValue(ctx, signInNamespace, strconv.FormatInt(accountID, 10)); err != nil {
		s.logger().Warn("forgetting where a deleted account signed in from", "account", accountID, "err", err)
	}
}
