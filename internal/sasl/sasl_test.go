package sasl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// testAuth accepts alice@example.org with "secret", reports a temporary
// failure for "down@example.org", and refuses everything else.
func testAuth(t *testing.T, calls *int) Authenticator {
	return func(ctx context.Context, username, password string) error {
		*calls++
		switch {
		case username == "down@example.org":
			return errors.New("store unreachable")
		case username == "alice@example.org" && password == "secret":
			return nil
		}
		return fmt.Errorf("%w: wrong password", ErrAuthFailed)
	}
}

var errTemporary = errors.New("temporary") // marks an expected Authenticator error

// step is one call to Next: the response given and what must come back.
type step struct {
	response  []byte
	challenge string
	done      bool
	err       error // matched with errors.Is; errTemporary: any error that is none of the sentinels
}

func TestMechanisms(t *testing.T) {
	long := bytes.Repeat([]byte("a"), MaxResponseLen+1)
	tests := []struct {
		name  string
		mech  string
		steps []step
		calls int // Authenticator calls expected
	}{
		{"plain ir", Plain, []step{{[]byte("\x00alice@example.org\x00secret"), "", true, nil}}, 1},
		{"plain ir authzid equal", Plain, []step{{[]byte("alice@example.org\x00alice@example.org\x00secret"), "", true, nil}}, 1},
		{"plain no ir", Plain, []step{{nil, "", false, nil}, {[]byte("\x00alice@example.org\x00secret"), "", true, nil}}, 1},
		{"plain wrong password", Plain, []step{{[]byte("\x00alice@example.org\x00nope"), "", true, ErrAuthFailed}}, 1},
		{"plain authzid differs", Plain, []step{{[]byte("bob@example.org\x00alice@example.org\x00secret"), "", true, ErrAuthFailed}}, 0},
		{"plain temporary", Plain, []step{{[]byte("\x00down@example.org\x00x"), "", true, errTemporary}}, 1},
		{"plain empty ir", Plain, []step{{[]byte{}, "", true, ErrMalformed}}, 0},
		{"plain one nul", Plain, []step{{[]byte("alice@example.org\x00secret"), "", true, ErrMalformed}}, 0},
		{"plain nul in password", Plain, []step{{[]byte("\x00alice@example.org\x00sec\x00ret"), "", true, ErrMalformed}}, 0},
		{"plain empty authcid", Plain, []step{{[]byte("\x00\x00secret"), "", true, ErrMalformed}}, 0},
		{"plain empty password", Plain, []step{{[]byte("\x00alice@example.org\x00"), "", true, ErrMalformed}}, 0},
		{"plain bad utf8", Plain, []step{{[]byte("\x00alice@example.org\x00\xff\xfe"), "", true, ErrMalformed}}, 0},
		{"plain too long", Plain, []step{{append([]byte("\x00a\x00"), long...), "", true, ErrTooLong}}, 0},
		{"plain after end", Plain, []step{{[]byte("\x00alice@example.org\x00secret"), "", true, nil}, {[]byte("x"), "", true, ErrMalformed}}, 1},
		{"plain no ir then nil", Plain, []step{{nil, "", false, nil}, {nil, "", true, ErrMalformed}}, 0},
		{"login", Login, []step{{nil, "Username:", false, nil}, {[]byte("alice@example.org"), "Password:", false, nil}, {[]byte("secret"), "", true, nil}}, 1},
		{"login ir", Login, []step{{[]byte("alice@example.org"), "Password:", false, nil}, {[]byte("secret"), "", true, nil}}, 1},
		{"login wrong password", Login, []step{{nil, "Username:", false, nil}, {[]byte("alice@example.org"), "Password:", false, nil}, {[]byte("guess"), "", true, ErrAuthFailed}}, 1},
		{"login temporary", Login, []step{{[]byte("down@example.org"), "Password:", false, nil}, {[]byte("x"), "", true, errTemporary}}, 1},
		{"login empty ir", Login, []step{{[]byte{}, "", true, ErrMalformed}}, 0},
		{"login nul in user", Login, []step{{nil, "Username:", false, nil}, {[]byte("al\x00ice"), "", true, ErrMalformed}}, 0},
		{"login empty password", Login, []step{{[]byte("alice@example.org"), "Password:", false, nil}, {[]byte{}, "", true, ErrMalformed}}, 0},
		{"login bad utf8 password", Login, []step{{[]byte("alice@example.org"), "Password:", false, nil}, {[]byte("\xc3"), "", true, ErrMalformed}}, 0},
		{"login too long", Login, []step{{long, "", true, ErrTooLong}}, 0},
		{"login after end", Login, []step{{[]byte("alice@example.org"), "Password:", false, nil}, {[]byte("secret"), "", true, nil}, {[]byte("x"), "", true, ErrMalformed}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			m, err := New(strings.ToLower(tt.mech), testAuth(t, &calls))
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				ch, done, err := m.Next(context.Background(), s.response)
				if string(ch) != s.challenge || done != s.done {
					t.Fatalf("step %d: got challenge %q done %v, want %q %v", i, ch, done, s.challenge, s.done)
				}
				checkErr(t, i, err, s.err)
			}
			if calls != tt.calls {
				t.Errorf("authenticator called %d times, want %d", calls, tt.calls)
			}
		})
	}
}

func checkErr(t *testing.T, i int, got, want error) {
	t.Helper()
	switch {
	case want == nil && got != nil:
		t.Fatalf("step %d: unexpected error %v", i, got)
	case want == errTemporary:
		for _, e := range []error{ErrMalformed, ErrAuthFailed, ErrCanceled} {
			if errors.Is(got, e) {
				t.Fatalf("step %d: error %v matches %v, want a temporary failure", i, got, e)
			}
		}
		if got == nil {
			t.Fatalf("step %d: no error, want a temporary failure", i)
		}
	case want != nil && !errors.Is(got, want):
		t.Fatalf("step %d: error %v, want %v", i, got, want)
	}
	// The kinds the protocol layer tells apart never overlap.
	if errors.Is(got, ErrAuthFailed) && errors.Is(got, ErrMalformed) {
		t.Fatalf("step %d: %v is both a failure and malformed", i, got)
	}
}

func TestNewUnsupported(t *testing.T) {
	for _, name := range []string{"SCRAM-SHA-256", "CRAM-MD5", ""} {
		if _, err := New(name, nil); !errors.Is(err, ErrUnsupported) {
			t.Errorf("New(%q): %v, want ErrUnsupported", name, err)
		}
	}
	for _, name := range Mechanisms() {
		if _, err := New(name, nil); err != nil {
			t.Errorf("New(%q): %v", name, err)
		}
	}
}

func TestDecode(t *testing.T) {
	maxLine := EncodeChallenge(bytes.Repeat([]byte{'x'}, MaxResponseLen))
	tests := []struct {
		line    string
		initial bool
		want    []byte
		err     error
	}{
		{"AGFsaWNlAHNlY3JldA==", false, []byte("\x00alice\x00secret"), nil},
		{"", false, []byte{}, nil},
		{"*", false, nil, ErrCanceled},
		{"*", true, nil, ErrCanceled},
		{"=", true, []byte{}, nil},
		{"=", false, nil, ErrMalformed},
		{"AGFsaWNl AHNlY3JldA==", false, nil, ErrMalformed},
		{"AGFsaWNlAHNlY3JldA", false, nil, ErrMalformed},   // missing padding
		{"AGFsaWNlAHNlY3JldB==", false, nil, ErrMalformed}, // non-zero trailing bits
		{"!!!!", true, nil, ErrMalformed},
		{maxLine, false, bytes.Repeat([]byte{'x'}, MaxResponseLen), nil},
		{maxLine + "AAAA", false, nil, ErrTooLong},
	}
	for _, tt := range tests {
		decode := DecodeResponse
		if tt.initial {
			decode = DecodeInitialResponse
		}
		got, err := decode(tt.line)
		name := tt.line
		if len(name) > 30 {
			name = name[:30] + "..."
		}
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("decode(%q, initial %v): error %v, want %v", name, tt.initial, err, tt.err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tt.want) || got == nil {
			t.Errorf("decode(%q, initial %v) = %q, %v; want %q", name, tt.initial, got, err, tt.want)
		}
	}
	if errors.Is(ErrCanceled, ErrMalformed) || !errors.Is(ErrTooLong, ErrMalformed) {
		t.Error("ErrCanceled must not match ErrMalformed; ErrTooLong must")
	}
}

func TestEncodeChallenge(t *testing.T) {
	for in, want := range map[string]string{"": "", "Username:": "VXNlcm5hbWU6", "Password:": "UGFzc3dvcmQ6"} {
		if got := EncodeChallenge([]byte(in)); got != want {
			t.Errorf("EncodeChallenge(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestContextPassed checks that the Authenticator receives the caller's
// context, so a closed connection stops a waiting password check.
func TestContextPassed(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "conn-1")
	var seen any
	m := NewPlain(func(ctx context.Context, _, _ string) error {
		seen = ctx.Value(key{})
		return ctx.Err()
	})
	if _, _, err := m.Next(ctx, []byte("\x00u\x00p")); err != nil {
		t.Fatal(err)
	}
	if seen != "conn-1" {
		t.Errorf("authenticator saw context value %v", seen)
	}
}
