package srs

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzReverse feeds Reverse any address: it must not panic, must fail with
// one of its errors, and what it accepts must be a forwarded address made
// with the secret (a forgery found here would be an open relay).
func FuzzReverse(f *testing.F) {
	for _, s := range []string{
		"SRS0=lIB0=JL=example.com=alice@fwd.example",
		"SRS1=8hN4=hop1.example==abcd=JL=orig.example=user@fwd.example",
		"srs0+lib0=jl=example.com=alice@fwd.example",
		"SRS0=====@", "SRS1==a=-@x", "alice@example.com", "", "@", "SRS0=",
	} {
		f.Add(s)
	}
	r := newTestF(f)
	f.Fuzz(func(t *testing.T, addr string) {
		got, err := r.Reverse(addr)
		if err != nil {
			if !errors.Is(err, ErrNotSRS) && !errors.Is(err, ErrMalformed) &&
				!errors.Is(err, ErrBadHash) && !errors.Is(err, ErrExpired) {
				t.Fatalf("Reverse(%q): unexpected error %v", addr, err)
			}
			return
		}
		if !IsSRS(addr) || !strings.Contains(got, "@") {
			t.Fatalf("Reverse(%q) = %q", addr, got)
		}
		// An accepted address is one Forward makes again, up to case and
		// the separator.
		at := strings.LastIndexByte(addr, '@')
		again, err := r.Forward(got, addr[at+1:])
		if err == nil && !strings.EqualFold(again[5:], addr[5:]) && !strings.HasPrefix(got, "SRS0") {
			t.Fatalf("Reverse(%q) = %q, forwarded again as %q", addr, got, again)
		}
	})
}

func newTestF(f *testing.F) *Rewriter {
	r, err := New(testSecret)
	if err != nil {
		f.Fatal(err)
	}
	r.Now = func() time.Time { return testNow }
	return r
}

// FuzzForward feeds Forward any sender: it must not panic, and every
// address it makes must be an SRS address that Reverse accepts and that
// leads back to the sender (or, for SRS1, to the first hop's address).
func FuzzForward(f *testing.F) {
	for _, s := range []string{
		"alice@example.com", "", "x@fwd.example", "SRS0=abcd=JL=o.test=u@hop.test",
		"SRS1=abcd=hop.test==abcd=JL=o.test=u@hop2.test", `"a b"@c`, "a@b@c", "@", "a=b=c@d",
	} {
		f.Add(s)
	}
	r := newTestF(f)
	f.Fuzz(func(t *testing.T, sender string) {
		out, err := r.Forward(sender, "fwd.example")
		if err != nil {
			if !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Forward(%q): unexpected error %v", sender, err)
			}
			return
		}
		if sender == "" || out == sender {
			if sender != "" && !strings.HasSuffix(strings.ToLower(sender), "@fwd.example") {
				t.Fatalf("Forward(%q) kept a sender of another domain", sender)
			}
			return
		}
		back, err := r.Reverse(out)
		if err != nil {
			t.Fatalf("Forward(%q) = %q, which Reverse refuses: %v", sender, out, err)
		}
		if strings.HasPrefix(out, "SRS0=") && back != sender {
			t.Fatalf("Forward(%q) = %q, reversed to %q", sender, out, back)
		}
		if strings.HasPrefix(out, "SRS1=") && !IsSRS(back) {
			t.Fatalf("Forward(%q) = %q, reversed to %q", sender, out, back)
		}
	})
}
