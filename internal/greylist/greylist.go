package greylist

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// Namespace is the store.KV namespace of the greylist.
const Namespace = "greylist"

// Defaults of Options' zero fields.
const (
	DefaultDelay     = 5 * time.Minute
	DefaultWindow    = 24 * time.Hour
	DefaultWhitelist = 35 * 24 * time.Hour
)

// Store keeps the greylist's state; store.KV satisfies it. GetValue must
// report an absent or expired key with an error wrapping store.ErrNotFound.
type Store interface {
	PutValue(ctx context.Context, namespace, key string, value []byte, expires time.Time) error
	GetValue(ctx context.Context, namespace, key string) ([]byte, error)
	DeleteValue(ctx context.Context, namespace, key string) error
}

// Options tune a Greylist. Zero fields take the defaults.
type Options struct {
	// Delay is how long after the first attempt a retry passes.
	Delay time.Duration
	// Window is how long after the first attempt a retry is awaited;
	// after it the triplet starts again.
	Window time.Duration
	// Whitelist is how long a network that passed is not greylisted,
	// renewed while its mail keeps coming.
	Whitelist time.Duration
	// SpareAligned spares senders that proved themselves (Request.Aligned,
	// Vouch).
	SpareAligned bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Greylist decides on delivery attempts. It is safe for concurrent use.
type Greylist struct {
	store Store
	opt   Options
}

// New returns a Greylist keeping its state in s.
func New(s Store, opt Options) *Greylist {
	if opt.Delay <= 0 {
		opt.Delay = DefaultDelay
	}
	if opt.Window <= opt.Delay {
		opt.Window = max(DefaultWindow, 2*opt.Delay)
	}
	if opt.Whitelist <= 0 {
		opt.Whitelist = DefaultWhitelist
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Greylist{store: s, opt: opt}
}

// Request is one delivery attempt, at RCPT time.
type Request struct {
	IP       netip.Addr
	From, To string // envelope sender ("" for the null sender) and recipient
	// Authenticated is an authenticated submission: never greylisted.
	Authenticated bool
	// Aligned says the sender proved itself: SPF pass and DKIM pass
	// aligned with the From domain. Honoured with Options.SpareAligned.
	Aligned bool
}

// Check decides on an attempt from ip, from and to; see CheckRequest.
func (g *Greylist) Check(ctx context.Context, ip netip.Addr, from, to string) (ok bool, retryAfter time.Duration, err error) {
	return g.CheckRequest(ctx, Request{IP: ip, From: from, To: to})
}

// CheckRequest decides on an attempt: ok, or not yet and how long until a
// retry would pass. A failure of the store is returned with ok false; the
// caller decides whether to accept the mail anyway.
func (g *Greylist) CheckRequest(ctx context.Context, req Request) (ok bool, retryAfter time.Duration, err error) {
	if req.Authenticated {
		return true, 0, nil
	}
	network, err := Network(req.IP)
	if err != nil {
		return false, 0, err
	}
	now := g.opt.Now()
	if g.opt.SpareAligned && req.Aligned {
		return true, 0, g.whitelist(ctx, networkKey(network), now)
	}
	if ok, err := g.listed(ctx, networkKey(network), now); ok || err != nil {
		return ok, 0, err
	}
	if g.opt.SpareAligned {
		if ok, err := g.listed(ctx, vouchKey(network, domainOf(req.From)), now); ok || err != nil {
			return ok, 0, err
		}
	}
	return g.triplet(ctx, tripletKey(network, NormalizeSender(req.From), strings.ToLower(req.To)), network, now)
}

// triplet applies the delay and window to a triplet that is not
// whitelisted.
func (g *Greylist) triplet(ctx context.Context, key string, network netip.Prefix, now time.Time) (bool, time.Duration, error) {
	first, found, err := g.get(ctx, key, now)
	if err != nil {
		return false, 0, err
	}
	if !found {
		return false, g.opt.Delay, g.put(ctx, key, now, now.Add(g.opt.Window))
	}
	if wait := first.Add(g.opt.Delay).Sub(now); wait > 0 {
		return false, roundUp(wait), nil
	}
	if err := g.whitelist(ctx, networkKey(network), now); err != nil {
		return true, 0, err
	}
	g.store.DeleteValue(ctx, Namespace, key) // the network entry covers it; a failure only leaves it to expire
	return true, 0, nil
}

// Vouch records that mail from the sender domain of from, from ip's
// network, proved itself (SPF pass, DKIM aligned pass), so that later
// attempts from there are spared for Whitelist. It does nothing without
// Options.SpareAligned, or for the null sender.
func (g *Greylist) Vouch(ctx context.Context, ip netip.Addr, from string) error {
	domain := domainOf(from)
	if !g.opt.SpareAligned || domain == "" {
		return nil
	}
	network, err := Network(ip)
	if err != nil {
		return err
	}
	return g.whitelist(ctx, vouchKey(network, domain), g.opt.Now())
}

// listed reports whether key is live, renewing it when half its time has
// gone, so that a network that keeps sending stays whitelisted.
func (g *Greylist) listed(ctx context.Context, key string, now time.Time) (bool, error) {
	since, found, err := g.get(ctx, key, now)
	if !found || err != nil {
		return false, err
	}
	if now.Sub(since) > g.opt.Whitelist/2 {
		g.whitelist(ctx, key, now) // best effort: it is still listed
	}
	return true, nil
}

func (g *Greylist) whitelist(ctx context.Context, key string, now time.Time) error {
	return g.put(ctx, key, now, now.Add(g.opt.Whitelist))
}

// An entry holds the time it was made and its expiry, judged by the
// Greylist's clock; the store's own expiry, the same time, only lets
// store.KV prune it.
func (g *Greylist) put(ctx context.Context, key string, since, expires time.Time) error {
	v := binary.BigEndian.AppendUint64(nil, uint64(since.Unix()))
	v = binary.BigEndian.AppendUint64(v, uint64(expires.Unix()))
	if err := g.store.PutValue(ctx, Namespace, key, v, expires); err != nil {
		return fmt.Errorf("greylist: %w", err)
	}
	return nil
}

// get returns the time an entry was made, if it is live. An entry that is
// not ours reads as absent.
func (g *Greylist) get(ctx context.Context, key string, now time.Time) (since time.Time, found bool, err error) {
	v, err := g.store.GetValue(ctx, Namespace, key)
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("greylist: %w", err)
	}
	if len(v) != 16 {
		return time.Time{}, false, nil
	}
	since = time.Unix(int64(binary.BigEndian.Uint64(v)), 0)
	expires := time.Unix(int64(binary.BigEndian.Uint64(v[8:])), 0)
	return since, now.Before(expires), nil
}

// Network returns the network an address is greylisted by: its /24 for
// IPv4 (an IPv4-mapped address counts as IPv4), its /64 for IPv6.
func Network(ip netip.Addr) (netip.Prefix, error) {
	ip = ip.Unmap()
	switch {
	case ip.Is4():
		return ip.Prefix(24)
	case ip.Is6():
		return ip.WithZone("").Prefix(64)
	}
	return netip.Prefix{}, errors.New("greylist: invalid IP address")
}

// NormalizeSender returns the form of an envelope sender that greylisting
// compares: lower-cased, without a BATV tag, with runs of digits in the
// local part as one "#".
func NormalizeSender(from string) string {
	from = strings.ToLower(from)
	at := strings.LastIndexByte(from, '@')
	if at < 0 {
		return from
	}
	local, domain := from[:at], from[at:]
	// BATV (draft-levine-smtp-batv): prvs=TAG=user, also seen as btv1==.
	for _, p := range []string{"prvs=", "msprvs1=", "btv1=="} {
		if rest, ok := strings.CutPrefix(local, p); ok {
			if i := strings.IndexByte(rest, '='); i >= 0 {
				local = rest[i+1:]
			}
			break
		}
	}
	var sb strings.Builder
	digits := false
	for i := 0; i < len(local); i++ {
		c := local[i]
		if '0' <= c && c <= '9' {
			if !digits {
				sb.WriteByte('#')
			}
			digits = true
			continue
		}
		digits = false
		sb.WriteByte(c)
	}
	return sb.String() + domain
}

func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(addr[at+1:])
}

// Keys hash what they are made of: fixed length whatever the addresses,
// and no address in the clear.
func tripletKey(network netip.Prefix, from, to string) string {
	return "t:" + hash(network.String(), from, to)
}

func networkKey(network netip.Prefix) string { return "n:" + network.String() }

func vouchKey(network netip.Prefix, domain string) string {
	return "v:" + hash(network.String(), domain)
}

func hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// roundUp rounds a wait up to whole seconds, as it is told to clients.
func roundUp(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}
