package sasl

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// FuzzNext drives each mechanism with responses cut from the input at
// '\n' (at most 8 steps; a leading "-" means no initial response) and
// checks that the exchange ends, that the authenticator only accepts what
// it was given, and that the error kinds never overlap.
func FuzzNext(f *testing.F) {
	f.Add("\x00alice\x00secret")
	f.Add("-\n\x00alice\x00secret")
	f.Add("alice\x00alice\x00secret")
	f.Add("-\nalice\nsecret")
	f.Add("alice\nsecret\nextra")
	f.Add("\x00\x00\x00")
	f.Add("\xff\x00\xfe\x00\xfd")
	f.Fuzz(func(t *testing.T, in string) {
		parts := bytes.Split([]byte(in), []byte("\n"))
		var first []byte
		if len(parts) > 0 && string(parts[0]) == "-" {
			parts = parts[1:]
		} else if len(parts) > 0 {
			first, parts = parts[0], parts[1:]
		}
		for _, name := range Mechanisms() {
			var gotUser, gotPass string
			auth := func(_ context.Context, u, p string) error {
				gotUser, gotPass = u, p
				if u == "alice" && p == "secret" {
					return nil
				}
				return ErrAuthFailed
			}
			m, err := New(name, auth)
			if err != nil {
				t.Fatal(err)
			}
			resp := first
			for i := 0; ; i++ {
				_, done, err := m.Next(context.Background(), resp)
				if errors.Is(err, ErrMalformed) && errors.Is(err, ErrAuthFailed) {
					t.Fatalf("%s: error %v has two kinds", name, err)
				}
				if err == nil && done && (gotUser != "alice" || gotPass != "secret") {
					t.Fatalf("%s: accepted %q/%q", name, gotUser, gotPass)
				}
				if done || err != nil {
					break
				}
				if i >= len(parts) {
					break
				}
				if i > 3 {
					t.Fatalf("%s: exchange not over after %d steps", name, i)
				}
				resp = parts[i]
			}
		}
	})
}
