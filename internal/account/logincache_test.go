package account

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// checkedInFull reports whether Authenticate needed a full password check:
// with the only check turn held, a login that needs one waits until the
// short deadline, while a remembered one is answered at once.
func checkedInFull(t *testing.T, s *Service, address, password string) (bool, error) {
	t.Helper()
	release, err := s.acquireCheck(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err = s.Authenticate(ctx, address, password)
	if errors.Is(err, context.DeadlineExceeded) {
		return true, nil
	}
	return false, err
}

func newCachingService(t *testing.T) *Service {
	t.Helper()
	s := newService(t)
	s.MaxConcurrentChecks = 1
	mustAccount(t, s, "alice@example.com")
	return s
}

func TestLoginCacheRemembersSuccess(t *testing.T) {
	s := newCachingService(t)
	ctx := t.Context()
	const addr, pw = "alice@example.com", "a long enough password"
	if full, err := checkedInFull(t, s, addr, pw); !full || err != nil {
		t.Fatalf("first login: full check %v, err %v; want a full check", full, err)
	}
	if _, err := s.Authenticate(ctx, addr, pw); err != nil {
		t.Fatal(err)
	}
	if full, err := checkedInFull(t, s, addr, pw); full || err != nil {
		t.Fatalf("second login: full check %v, err %v; want it remembered", full, err)
	}
	// The address is matched in its normal form, as the store keeps it.
	if full, err := checkedInFull(t, s, "Alice@EXAMPLE.com", pw); full || err != nil {
		t.Fatalf("login with another case: full check %v, err %v; want it remembered", full, err)
	}
	// Another password is never taken from the cache.
	if full, _ := checkedInFull(t, s, addr, pw+"x"); !full {
		t.Fatal("a wrong password was answered without a full check")
	}
	if _, err := s.Authenticate(ctx, addr, pw+"x"); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("wrong password: %v, want ErrAuthFailed", err)
	}
	if n := s.loginCache().len(); n != 1 {
		t.Fatalf("cache holds %d entries after one success and failures, want 1", n)
	}
}

func TestLoginCacheEnds(t *testing.T) {
	const addr, pw = "alice@example.com", "a long enough password"
	tests := []struct {
		name string
		// change is made after a successful, remembered login.
		change func(t *testing.T, s *Service)
		// wantErr is the outcome of the old password afterwards.
		wantErr error
	}{
		{"SetPassword", func(t *testing.T, s *Service) {
			if err := s.SetPassword(t.Context(), addr, "battery staple"); err != nil {
				t.Fatal(err)
			}
		}, ErrAuthFailed},
		{"hash changed in the store by another process", func(t *testing.T, s *Service) {
			h, err := s.hasher().Hash("battery staple")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Store.SetPasswordHash(t.Context(), addr, h); err != nil {
				t.Fatal(err)
			}
		}, ErrAuthFailed},
		{"account disabled", func(t *testing.T, s *Service) {
			if err := s.Store.SetDisabled(t.Context(), addr, true); err != nil {
				t.Fatal(err)
			}
		}, ErrAuthFailed},
		{"ForgetLogins", func(t *testing.T, s *Service) { s.ForgetLogins(addr) }, nil},
		{"expiry", func(t *testing.T, s *Service) {
			c := s.loginCache()
			c.now = func() time.Time { return time.Now().Add(c.ttl) }
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newCachingService(t)
			if _, err := s.Authenticate(t.Context(), addr, pw); err != nil {
				t.Fatal(err)
			}
			tt.change(t, s)
			if full, err := checkedInFull(t, s, addr, pw); !full {
				t.Fatalf("after the change the old login was still remembered (err %v)", err)
			}
			if _, err := s.Authenticate(t.Context(), addr, pw); !errors.Is(err, tt.wantErr) {
				t.Fatalf("old password after the change: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestLoginCacheOff(t *testing.T) {
	s := newCachingService(t)
	s.LoginCacheTTL = -1
	const addr, pw = "alice@example.com", "a long enough password"
	if _, err := s.Authenticate(t.Context(), addr, pw); err != nil {
		t.Fatal(err)
	}
	if full, _ := checkedInFull(t, s, addr, pw); !full {
		t.Fatal("login remembered with the cache turned off")
	}
}

func TestLoginCacheBounded(t *testing.T) {
	c := newLoginCache(time.Minute, 3)
	for i := range 10 {
		c.remember(fmt.Sprintf("u%d@example.com", i), "pw", "hash")
		if n := c.len(); n > 3 {
			t.Fatalf("after %d entries the cache holds %d, more than its size 3", i+1, n)
		}
	}
	if !c.valid("u9@example.com", "pw", "hash") {
		t.Error("the newest entry was evicted")
	}
	// Expired entries go first.
	c = newLoginCache(time.Minute, 2)
	base := time.Now()
	c.now = func() time.Time { return base }
	c.remember("old@example.com", "pw", "hash")
	c.now = func() time.Time { return base.Add(30 * time.Second) }
	c.remember("mid@example.com", "pw", "hash")
	c.now = func() time.Time { return base.Add(70 * time.Second) }
	c.remember("new@example.com", "pw", "hash")
	if !c.valid("mid@example.com", "pw", "hash") || !c.valid("new@example.com", "pw", "hash") {
		t.Error("a live entry was evicted while an expired one could go")
	}
}

func TestLoginCacheKeepsNoPassword(t *testing.T) {
	c := newLoginCache(time.Minute, 10)
	const secret = "very secret password"
	c.remember("alice@example.com", secret, "hash")
	for k, e := range c.entries {
		if string(k[:]) == secret || e.passwordHash == secret || e.address == secret {
			t.Fatal("the password is kept in the cache")
		}
	}
	// The key is per process: two caches give different MACs.
	d := newLoginCache(time.Minute, 10)
	if c.mac("a", "b") == d.mac("a", "b") {
		t.Fatal("two caches share a MAC key")
	}
}
