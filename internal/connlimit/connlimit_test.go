package connlimit

import (
	"net/netip"
	"sync"
	"testing"
)

func TestLimiter(t *testing.T) {
	l := New(2)
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("192.0.2.2")
	r1, ok1 := l.Acquire(a)
	r2, ok2 := l.Acquire(a)
	_, ok3 := l.Acquire(a)
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("acquires: %v %v %v, want true true false", ok1, ok2, ok3)
	}
	if _, ok := l.Acquire(b); !ok {
		t.Error("another address was refused")
	}
	r1()
	r1() // a second release of the same connection counts nothing
	if n := l.Count(a); n != 1 {
		t.Errorf("count after release: %d, want 1", n)
	}
	if _, ok := l.Acquire(a); !ok {
		t.Error("refused after a release")
	}
	r2()
}

func TestIPv6CountsPer64(t *testing.T) {
	l := New(1)
	if _, ok := l.Acquire(netip.MustParseAddr("2001:db8::1")); !ok {
		t.Fatal("first refused")
	}
	if _, ok := l.Acquire(netip.MustParseAddr("2001:db8::ffff:2")); ok {
		t.Error("a second address in the same /64 was allowed")
	}
	if _, ok := l.Acquire(netip.MustParseAddr("2001:db8:0:1::1")); !ok {
		t.Error("another /64 was refused")
	}
	if _, ok := l.Acquire(netip.MustParseAddr("::ffff:192.0.2.1")); !ok {
		t.Error("an IPv4-mapped address was refused")
	}
	if _, ok := l.Acquire(netip.MustParseAddr("192.0.2.1")); ok {
		t.Error("the same IPv4 address, unmapped, was counted apart")
	}
}

func TestUnlimitedAndConcurrent(t *testing.T) {
	l := New(0)
	a := netip.MustParseAddr("192.0.2.1")
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			release, ok := l.Acquire(a)
			if !ok {
				t.Error("refused without a limit")
				return
			}
			release()
		})
	}
	wg.Wait()
	if n := l.Count(a); n != 0 {
		t.Errorf("count %d after all releases", n)
	}
}
