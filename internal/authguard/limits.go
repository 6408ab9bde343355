package authguard

import (
	"errors"
	"fmt"
	"time"
)

// Limits are the thresholds of a Guard. Every field must be set (see
// Check); DefaultLimits gives the values Sealpost uses.
type Limits struct {
	// IPv4Prefix and IPv6Prefix are the sizes of a "network": the address
	// block whose failures are counted together, and the block a
	// successful login makes trusted. Defaults: /24 and /64, the blocks
	// one customer commonly holds.
	IPv4Prefix int
	IPv6Prefix int

	// BaseDelay is the wait before an attempt from an IP address that
	// failed once recently; it doubles with each further failure up to
	// MaxDelay. Defaults: 250 ms and 4 s.
	BaseDelay time.Duration
	MaxDelay  time.Duration

	// IPFailures failures from one IP address within Window lock it out;
	// NetworkFailures from one network within Window lock that network
	// out (except for the accounts that trust it). Defaults: 10 and 50
	// within 15 minutes.
	IPFailures      int
	NetworkFailures int
	Window          time.Duration

	// AccountFailures failures for one account within AccountWindow, from
	// wherever they come, lock the account out from every network it does
	// not trust. Default: 50 within an hour.
	AccountFailures int
	AccountWindow   time.Duration

	// LockDuration is the first lock-out of an IP address, network or
	// account; each further lock-out while the previous one is remembered
	// doubles it, up to MaxLockDuration, which is also how long a
	// lock-out is remembered after it ends. Defaults: 15 minutes and 24
	// hours.
	LockDuration    time.Duration
	MaxLockDuration time.Duration

	// TrustPeriod is how long a network stays trusted for an account after
	// the account's last successful login from it. Default: 90 days.
	TrustPeriod time.Duration

	// MaxTracked bounds the IP addresses, networks and accounts counted
	// at once, and separately the trust answers remembered; beyond it the
	// least recently seen are forgotten. About 300 bytes each. Default:
	// 100,000.
	MaxTracked int
}

// DefaultLimits returns the limits Sealpost uses unless configured
// otherwise.
func DefaultLimits() Limits {
	return Limits{
		IPv4Prefix:      24,
		IPv6Prefix:      64,
		BaseDelay:       250 * time.Millisecond,
		MaxDelay:        4 * time.Second,
		IPFailures:      10,
		NetworkFailures: 50,
		Window:          15 * time.Minute,
		AccountFailures: 50,
		AccountWindow:   time.Hour,
		LockDuration:    15 * time.Minute,
		MaxLockDuration: 24 * time.Hour,
		TrustPeriod:     90 * 24 * time.Hour,
		MaxTracked:      100000,
	}
}

// Check reports the first limit that is out of range.
func (l Limits) Check() error {
	switch {
	case l.IPv4Prefix < 8 || l.IPv4Prefix > 32:
		return fmt.Errorf("IPv4 network prefix /%d: must be /8 to /32", l.IPv4Prefix)
	case l.IPv6Prefix < 16 || l.IPv6Prefix > 128:
		return fmt.Errorf("IPv6 network prefix /%d: must be /16 to /128", l.IPv6Prefix)
	case l.BaseDelay < 0 || l.MaxDelay < l.BaseDelay:
		return errors.New("delays: base delay must be at least 0 and at most the maximum delay")
	case l.MaxDelay > time.Minute:
		return fmt.Errorf("maximum delay %v: must be at most 1m, a client waits it out holding a connection", l.MaxDelay)
	case l.IPFailures < 1 || l.NetworkFailures < 1 || l.AccountFailures < 1:
		return errors.New("failure thresholds must be at least 1")
	case l.Window < time.Second || l.AccountWindow < time.Second:
		return errors.New("failure windows must be at least 1s")
	case l.LockDuration < time.Second || l.MaxLockDuration < l.LockDuration:
		return errors.New("lock-out: duration must be at least 1s and at most the maximum")
	case l.TrustPeriod < time.Hour:
		return fmt.Errorf("trust period %v: must be at least 1h", l.TrustPeriod)
	case l.MaxTracked < 100:
		return fmt.Errorf("tracked keys %d: must be at least 100", l.MaxTracked)
	}
	return nil
}
