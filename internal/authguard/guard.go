package authguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// ErrLockedOut is the error Admit's refusals wrap. The account package's
// ErrLockedOut is this same value, so callers may test either.
var ErrLockedOut = errors.New("temporarily locked out")

// LockError is Admit's refusal: what is locked out, and until when. It
// wraps ErrLockedOut. Its text is for the log; a client is told no more
// than that it must try later.
type LockError struct {
	Lock
	// InProgress is set when nothing is locked out yet but this many
	// attempts are in progress, enough to reach the threshold if they fail.
	InProgress int
}

func (e *LockError) Error() string {
	if e.InProgress > 0 {
		return fmt.Sprintf("%s %s %v: %d failures and %d attempts in progress", e.Kind, e.Key, ErrLockedOut, e.Failures, e.InProgress)
	}
	return fmt.Sprintf("%s %s %v until %s", e.Kind, e.Key, ErrLockedOut, e.Until.UTC().Format(time.RFC3339))
}

func (e *LockError) Unwrap() error { return ErrLockedOut }

// Lock is a lock-out in force.
type Lock struct {
	Kind     string    `json:"kind"` // "ip", "network" or "account"
	Key      string    `json:"key"`  // "192.0.2.1", "192.0.2.0/24" or "user@example.com"
	Until    time.Time `json:"until"`
	Failures int       `json:"failures"` // recent failures counted
	Strikes  int       `json:"strikes"`  // lock-outs in a row, this one included
}

// Clock tells the time and waits. Tests use a fake one.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx ends, returning ctx's error then.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Options configure a Guard.
type Options struct {
	Limits Limits
	// Store keeps the trusted networks.
	Store store.KV
	// Clock is the clock; nil means the real one.
	Clock Clock
	// Logger receives lock-outs and store failures; nil discards them.
	Logger *slog.Logger
}

// Guard counts failed logins and decides which attempts to delay and which
// to refuse. It is safe for concurrent use.
type Guard struct {
	limits Limits
	kv     store.KV
	clock  Clock
	log    *slog.Logger

	mu     sync.Mutex
	counts *table
	trust  map[string]trustEntry // by account address

	writeMu sync.Mutex // serialises the read-modify-write of trusted networks
}

// New returns a Guard with the options' limits, which must pass Check.
func New(o Options) (*Guard, error) {
	if err := o.Limits.Check(); err != nil {
		return nil, fmt.Errorf("authguard: %w", err)
	}
	if o.Store == nil {
		return nil, errors.New("authguard: no store for the trusted networks")
	}
	g := &Guard{limits: o.Limits, kv: o.Store, clock: o.Clock, log: o.Logger,
		counts: newTable(o.Limits.MaxTracked), trust: make(map[string]trustEntry)}
	if g.clock == nil {
		g.clock = realClock{}
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	return g, nil
}

// Limits returns the Guard's limits.
func (g *Guard) Limits() Limits { return g.limits }

// maxAddressLen bounds the account names counted: no account address is
// longer (RFC 5321 section 4.5.3.1.3 allows 254 octets, UTF-8 local parts
// a few more), and longer names share the key of their first octets, so a
// client cannot make the Guard keep long strings.
const maxAddressLen = 320

// normalize gives the key an account is counted and trusted under. The
// caller should pass the address as the account package normalises it; if
// it does not parse, this at least folds case.
func normalize(address string) string {
	address = strings.ToLower(strings.TrimSpace(address))
	if len(address) > maxAddressLen {
		address = address[:maxAddressLen]
	}
	return address
}

// network returns the network of ip, as the limits size it.
func (g *Guard) network(ip netip.Addr) netip.Prefix {
	if !ip.IsValid() {
		return netip.Prefix{}
	}
	bits := g.limits.IPv6Prefix
	if ip.Is4() {
		bits = g.limits.IPv4Prefix
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

// source is one attempt's keys.
type source struct {
	ip      netip.Addr
	net     netip.Prefix
	address string
}

func (g *Guard) source(ip netip.Addr, address string) source {
	ip = ip.Unmap()
	return source{ip: ip, net: g.network(ip), address: normalize(address)}
}

// key names one entry.
type key struct {
	kind kind
	name string
}

// keys returns the entries an attempt from s counts on: its IP address and
// network, when it has one, and the account.
func (s source) keys() []key {
	if !s.ip.IsValid() {
		return []key{{kindAccount, s.address}}
	}
	return []key{{kindIP, s.ip.String()}, {kindNetwork, s.net.String()}, {kindAccount, s.address}}
}

// Admit decides whether an attempt to log in to address from ip may go on
// to a password check. It waits first while a delay is owed, returning
// ctx's error if ctx ends sooner, and refuses with a *LockError (wrapping
// ErrLockedOut) when the IP address is locked out, or when its network or
// the account is and the account does not trust that network. It refuses
// too while so many attempts are in progress that their failures would
// pass a threshold, so that many connections at once gain an attacker no
// more password checks than one.
//
// Every attempt Admit lets through is in progress until Record is told its
// outcome; one never recorded stops counting after pendingLapse. An attempt
// refused here must not be passed to Record: it checked no password.
func (g *Guard) Admit(ctx context.Context, ip netip.Addr, address string) error {
	src := g.source(ip, address)
	wait, trusted, err := g.decide(ctx, src)
	if err != nil {
		return err
	}
	if wait > 0 {
		if err := g.clock.Sleep(ctx, wait); err != nil {
			return err
		}
	}
	return g.reserve(src, trusted)
}

// pendingLapse is how long an admitted attempt whose outcome Record is
// never told counts as in progress. A password check waits its turn and
// takes well under a second; Login may fail before Record on a store
// error.
const pendingLapse = time.Minute

// state is what decide reads of one entry under the lock.
type state struct {
	count       float64
	pending     int
	lastFailure time.Time
	lock        *Lock
}

func (g *Guard) read(e *entry, now time.Time) state {
	if e == nil {
		return state{}
	}
	length, _ := g.rule(e.kind)
	s := state{count: e.win.count(now, length), pending: e.inFlight(now, pendingLapse), lastFailure: e.lastFailure}
	if e.locked(now) {
		s.lock = &Lock{Kind: e.kind.String(), Key: e.name, Until: e.lockedUntil, Failures: int(s.count), Strikes: e.strikes}
	}
	return s
}

// rule returns the window and the threshold of a kind of entry.
func (g *Guard) rule(k kind) (time.Duration, int) {
	switch k {
	case kindIP:
		return g.limits.Window, g.limits.IPFailures
	case kindNetwork:
		return g.limits.Window, g.limits.NetworkFailures
	}
	return g.limits.AccountWindow, g.limits.AccountFailures
}

// full reports whether s is locked out, or has attempts in progress whose
// failures would reach threshold. (With none in progress, one more attempt
// is let through even at the threshold, once a lock-out has ended: its
// failure makes the next lock-out, twice as long.)
func (s state) full(threshold int) bool {
	return s.lock != nil || s.pending > 0 && s.count+float64(s.pending) >= float64(threshold)
}

// decide returns the delay owed by an attempt from src, or its refusal,
// and whether the account trusts src's network.
func (g *Guard) decide(ctx context.Context, src source) (time.Duration, bool, error) {
	now := g.clock.Now()
	var ip, net, acct state
	g.mu.Lock()
	if src.ip.IsValid() {
		ip = g.read(g.counts.get(kindIP, src.ip.String()), now)
		net = g.read(g.counts.get(kindNetwork, src.net.String()), now)
	}
	acct = g.read(g.counts.get(kindAccount, src.address), now)
	g.mu.Unlock()

	if ip.lock != nil {
		return 0, false, &LockError{Lock: *ip.lock}
	}
	// The store is asked only for an account or network under attack.
	trusted := false
	if acct.count > 0 || acct.full(g.limits.AccountFailures) || net.full(g.limits.NetworkFailures) {
		trusted = g.networkTrusted(ctx, src.address, src.net, now)
	}
	if !trusted {
		if net.lock != nil {
			return 0, false, &LockError{Lock: *net.lock}
		}
		if acct.lock != nil {
			return 0, false, &LockError{Lock: *acct.lock}
		}
	}
	// The delay follows the IP address's failures and, from an untrusted
	// network, the account's: the owner at home is not slowed down by an
	// attack on the account.
	owed := ip
	if !trusted && acct.count > owed.count {
		owed = acct
	}
	return owed.lastFailure.Add(g.delay(owed.count)).Sub(now), trusted, nil
}

// reserve counts an attempt from src as in progress, or refuses it if a
// lock-out began meanwhile or the attempts in progress fill a threshold.
// A trusted network is exempt from the network's and the account's.
func (g *Guard) reserve(src source, trusted bool) error {
	now := g.clock.Now()
	keys := src.keys()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.counts.dropStale(g.stale(now), 2)
	entries := make([]*entry, len(keys))
	for i, k := range keys {
		e := g.counts.touch(now, k.kind, k.name, g.stale(now))
		entries[i] = e
		if trusted && k.kind != kindIP {
			continue
		}
		_, threshold := g.rule(k.kind)
		if s := g.read(e, now); s.full(threshold) {
			if s.lock != nil {
				return &LockError{Lock: *s.lock}
			}
			return &LockError{Lock: Lock{Kind: k.kind.String(), Key: k.name, Until: now, Failures: int(s.count)}, InProgress: s.pending}
		}
	}
	for _, e := range entries {
		e.pending = e.inFlight(now, pendingLapse) + 1
		e.pendingAt = now
	}
	return nil
}

// delay is the wait owed after the given number of recent failures: none
// for none, BaseDelay for one, doubling for each further one up to
// MaxDelay.
func (g *Guard) delay(failures float64) time.Duration {
	n := int(failures)
	if n < 1 || g.limits.BaseDelay <= 0 {
		return 0
	}
	d := g.limits.BaseDelay
	for i := 1; i < n && d < g.limits.MaxDelay; i++ {
		d *= 2
	}
	return min(d, g.limits.MaxDelay)
}

// Record tells the Guard the outcome of an attempt Admit let through. A
// failure counts against the IP address, its network and the account, and
// may lock any of them out; a success makes the network trusted by the
// account for Limits.TrustPeriod (written to the store at most daily). A
// success clears no failure count: an attacker must not be able to reset
// the counts of its address by logging in to an account of its own.
func (g *Guard) Record(ctx context.Context, ip netip.Addr, address string, ok bool) {
	src := g.source(ip, address)
	now := g.clock.Now()
	if ok {
		g.mu.Lock()
		for _, k := range src.keys() {
			g.settle(now, k.kind, k.name)
		}
		g.mu.Unlock()
		if err := g.trustNetwork(ctx, src.address, src.net, now); err != nil {
			g.log.Warn("authguard: recording trusted network", "account", src.address, "network", src.net, "err", err)
		}
		return
	}
	var locks []Lock
	g.mu.Lock()
	g.counts.dropStale(g.stale(now), 2)
	for _, k := range src.keys() {
		locks = g.fail(locks, now, k.kind, k.name)
	}
	g.mu.Unlock()
	for _, l := range locks {
		g.log.Warn("authguard: locked out", "kind", l.Kind, "key", l.Key, "until", l.Until, "failures", l.Failures, "strikes", l.Strikes)
	}
}

// settle ends one attempt in progress of name, if it has one.
func (g *Guard) settle(now time.Time, k kind, name string) {
	if e := g.counts.get(k, name); e != nil {
		e.pending = max(e.inFlight(now, pendingLapse)-1, 0)
	}
}

// fail counts one failure of name, and locks it out when it reaches its
// threshold within its window; a lock-out made is appended to locks.
func (g *Guard) fail(locks []Lock, now time.Time, k kind, name string) []Lock {
	g.settle(now, k, name)
	length, threshold := g.rule(k)
	e := g.counts.touch(now, k, name, g.stale(now))
	e.win.add(now, length)
	e.lastFailure = now
	n := e.win.count(now, length)
	if e.locked(now) || n < float64(threshold) {
		return locks
	}
	// Lock-outs in a row double, while the previous one is remembered.
	if now.Sub(e.lockedUntil) >= g.limits.MaxLockDuration {
		e.strikes = 0
	}
	e.strikes++
	d := g.limits.LockDuration
	for i := 1; i < e.strikes && d < g.limits.MaxLockDuration; i++ {
		d *= 2
	}
	e.lockedUntil = now.Add(min(d, g.limits.MaxLockDuration))
	return append(locks, Lock{Kind: k.String(), Key: name, Until: e.lockedUntil, Failures: int(n), Strikes: e.strikes})
}

// stale tells an entry that holds nothing any more: no failure left in its
// window, no attempt in progress, no lock-out in force or remembered.
func (g *Guard) stale(now time.Time) func(*entry) bool {
	return func(e *entry) bool {
		length, _ := g.rule(e.kind)
		return e.win.count(now, length) == 0 && e.inFlight(now, pendingLapse) == 0 &&
			now.Sub(e.lockedUntil) >= g.limits.MaxLockDuration
	}
}

// Locked returns the lock-outs in force, soonest ending first.
func (g *Guard) Locked() []Lock {
	now := g.clock.Now()
	var out []Lock
	g.mu.Lock()
	for _, e := range g.counts.m {
		if !e.locked(now) {
			continue
		}
		length, _ := g.rule(e.kind)
		out = append(out, Lock{Kind: e.kind.String(), Key: e.name, Until: e.lockedUntil,
			Failures: int(e.win.count(now, length)), Strikes: e.strikes})
	}
	g.mu.Unlock()
	slices.SortFunc(out, func(a, b Lock) int {
		if c := a.Until.Compare(b.Until); c != 0 {
			return c
		}
		return strings.Compare(a.Kind+" "+a.Key, b.Kind+" "+b.Key)
	})
	return out
}

// Unlock ends the lock-out of key, an IP address ("192.0.2.1"), a network
// ("192.0.2.0/24") or an account address, and forgets its failures and
// earlier lock-outs. It reports whether key was locked out.
func (g *Guard) Unlock(key string) bool {
	k, name := kindAccount, normalize(key)
	if p, err := netip.ParsePrefix(key); err == nil {
		k, name = kindNetwork, p.Masked().String()
	} else if ip, err := netip.ParseAddr(key); err == nil {
		k, name = kindIP, ip.Unmap().String()
	}
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	e := g.counts.get(k, name)
	if e == nil {
		return false
	}
	g.counts.remove(e)
	if e.locked(now) {
		g.log.Info("authguard: unlocked", "kind", k.String(), "key", name)
		return true
	}
	return false
}

// tracked returns how many IP addresses, networks and accounts are counted.
func (g *Guard) tracked() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.counts.m)
}
