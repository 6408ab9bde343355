package authguard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// Namespace is the store.KV namespace of the trusted networks, keyed by
// account address.
const Namespace = "authguard"

// Bounds on the trusted networks.
const (
	// maxTrusted bounds the networks trusted for one account; the one
	// least recently logged in from is forgotten first.
	maxTrusted = 32
	// trustRecheck is how long a trust answer read from the store is
	// believed, so that a network trusted by another node sharing the
	// database is seen within that time without a store read per attempt.
	trustRecheck = 5 * time.Minute
	// trustRefresh is how often a login from an already trusted network
	// writes its new time: daily is precise enough for a 90-day period.
	trustRefresh = 24 * time.Hour
)

// Trusted is a network an account has logged in from successfully.
type Trusted struct {
	Network   netip.Prefix `json:"network"`
	LastLogin time.Time    `json:"last_login"`
}

// storedTrust is the stored value: every trusted network of one account.
// V tells formats apart, should it ever change.
type storedTrust struct {
	V        int       `json:"v"`
	Networks []Trusted `json:"networks"`
}

// trustEntry is what the Guard remembers of an account's trusted networks.
type trustEntry struct {
	networks []Trusted
	read     time.Time // when read from, or written to, the store
}

// networkTrusted reports whether address trusts net, reading the store at
// most every trustRecheck. A store failure is logged and answers no: the
// account is then protected as any other, not opened.
func (g *Guard) networkTrusted(ctx context.Context, address string, net netip.Prefix, now time.Time) bool {
	if !net.IsValid() {
		return false
	}
	list, err := g.trustedList(ctx, address, now)
	if err != nil {
		g.log.Warn("authguard: reading trusted networks", "account", address, "err", err)
		return false
	}
	return slices.ContainsFunc(list, func(t Trusted) bool { return t.Network == net })
}

func (g *Guard) trustedList(ctx context.Context, address string, now time.Time) ([]Trusted, error) {
	g.mu.Lock()
	te, ok := g.trust[address]
	g.mu.Unlock()
	if ok && now.Sub(te.read) < trustRecheck && !now.Before(te.read) {
		return live(te.networks, now, g.limits.TrustPeriod), nil
	}
	list, err := g.readTrust(ctx, address)
	if err != nil {
		return nil, err
	}
	g.rememberTrust(address, list, now)
	return live(list, now, g.limits.TrustPeriod), nil
}

func (g *Guard) readTrust(ctx context.Context, address string) ([]Trusted, error) {
	if err := store.CheckValue(Namespace, address, nil); err != nil {
		return nil, nil // not an address the store could hold, so trusted nowhere
	}
	b, err := g.kv.GetValue(ctx, Namespace, address)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st storedTrust
	if err := json.Unmarshal(b, &st); err != nil || st.V != 1 {
		return nil, fmt.Errorf("stored trusted networks of %s: unreadable", address)
	}
	return st.Networks, nil
}

func (g *Guard) rememberTrust(address string, list []Trusted, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.trust[address]; !ok && len(g.trust) >= g.limits.MaxTracked {
		// Forget an arbitrary answer: it costs one store read if needed.
		for k := range g.trust {
			delete(g.trust, k)
			break
		}
	}
	g.trust[address] = trustEntry{networks: list, read: now}
}

// live returns the networks of list still trusted at now.
func live(list []Trusted, now time.Time, period time.Duration) []Trusted {
	var out []Trusted
	for _, t := range list {
		if now.Before(t.LastLogin.Add(period)) {
			out = append(out, t)
		}
	}
	return out
}

// trustNetwork records a successful login of address from net, writing to
// the store unless the network was written within trustRefresh.
func (g *Guard) trustNetwork(ctx context.Context, address string, net netip.Prefix, now time.Time) error {
	if !net.IsValid() {
		return nil
	}
	if g.recentlyTrusted(address, net, now) {
		return nil
	}
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	// Read the store afresh: another node may have added networks.
	list, err := g.readTrust(ctx, address)
	if err != nil {
		return err
	}
	list = live(list, now, g.limits.TrustPeriod)
	i := slices.IndexFunc(list, func(t Trusted) bool { return t.Network == net })
	if i >= 0 && now.Sub(list[i].LastLogin) < trustRefresh && !now.Before(list[i].LastLogin) {
		g.rememberTrust(address, list, now)
		return nil
	}
	if i >= 0 {
		list = slices.Delete(list, i, i+1)
	}
	list = append(list, Trusted{Network: net, LastLogin: now})
	slices.SortFunc(list, func(a, b Trusted) int { return b.LastLogin.Compare(a.LastLogin) })
	if len(list) > maxTrusted {
		list = list[:maxTrusted]
	}
	b, err := json.Marshal(storedTrust{V: 1, Networks: list})
	if err != nil {
		return err
	}
	// The value lives as long as its most recent network is trusted.
	if err := g.kv.PutValue(ctx, Namespace, address, b, now.Add(g.limits.TrustPeriod)); err != nil {
		return err
	}
	g.rememberTrust(address, list, now)
	return nil
}

// recentlyTrusted reports whether the remembered trust of address shows a
// login from net within trustRefresh, so that nothing needs writing.
func (g *Guard) recentlyTrusted(address string, net netip.Prefix, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	te, ok := g.trust[address]
	if !ok {
		return false
	}
	return slices.ContainsFunc(te.networks, func(t Trusted) bool {
		return t.Network == net && now.Sub(t.LastLogin) < trustRefresh && !now.Before(t.LastLogin)
	})
}

// TrustedNetworks returns the networks address is trusted from, most
// recently used first.
func (g *Guard) TrustedNetworks(ctx context.Context, address string) ([]Trusted, error) {
	address = normalize(address)
	list, err := g.readTrust(ctx, address)
	if err != nil {
		return nil, err
	}
	return live(list, g.clock.Now(), g.limits.TrustPeriod), nil
}

// ForgetTrust makes address trust no network, as after its password was
// changed because someone else knew it: a network a thief logged in from
// must not keep the owner's privileges.
func (g *Guard) ForgetTrust(ctx context.Context, address string) error {
	address = normalize(address)
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	g.mu.Lock()
	delete(g.trust, address)
	g.mu.Unlock()
	if store.CheckValue(Namespace, address, nil) != nil {
		return nil
	}
	return g.kv.DeleteValue(ctx, Namespace, address)
}
