package mtasts

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParsePolicy feeds arbitrary bytes to ParsePolicy. It must never
// panic, and whatever it accepts must keep the package's promises. Seeds
// are in testdata/fuzz/FuzzParsePolicy.
func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(enforceText))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Fatalf("error %v does not wrap ErrInvalidPolicy", err)
			}
			return
		}
		if len(b) > MaxPolicySize {
			t.Fatalf("accepted %d bytes", len(b))
		}
		switch p.Mode {
		case ModeEnforce, ModeTesting:
			if len(p.MX) == 0 {
				t.Fatal("enforce or testing policy without mx")
			}
		case ModeNone:
		default:
			t.Fatalf("mode %q accepted", p.Mode)
		}
		if p.MaxAge < 0 || p.MaxAge > MaxMaxAge {
			t.Fatalf("max_age %v out of range", p.MaxAge)
		}
		for _, pat := range p.MX {
			if pat != strings.ToLower(pat) || !validMXPattern(pat) {
				t.Fatalf("mx pattern %q accepted", pat)
			}
			// A pattern matches the host it names; a wildcard matches one
			// label below its parent, not the parent nor two labels below.
			one := Policy{MX: []string{pat}}
			if parent, ok := strings.CutPrefix(pat, "*."); ok {
				if !one.Match("x."+parent) || one.Match(parent) || one.Match("y.x."+parent) {
					t.Fatalf("wildcard %q matches wrongly", pat)
				}
			} else if !one.Match(pat) || one.Match("x."+pat) {
				t.Fatalf("pattern %q matches wrongly", pat)
			}
		}
	})
}

// FuzzParseRecord feeds arbitrary text to ParseRecord.
func FuzzParseRecord(f *testing.F) {
	for _, s := range []string{"v=STSv1; id=20160831085700Z;", "v=STSv1;id=a;x=y", "v=STSv1; id=a;; b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rec, err := ParseRecord(s)
		if err != nil {
			if !errors.Is(err, ErrNoRecord) {
				t.Fatalf("error %v does not wrap ErrNoRecord", err)
			}
			return
		}
		if !validID(rec.ID) || !isSTSRecord(s) {
			t.Fatalf("accepted %q with id %q", s, rec.ID)
		}
	})
}
