package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in TOML as a string in Go's duration
// syntax: "90s", "10m", "4h", "1h30m". A bare number is refused, because its
// unit would be a guess.
type Duration time.Duration

// String formats d without trailing zero units: "10m", not "10m0s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("invalid duration %q: write a number with a unit, such as \"90s\", \"10m\" or \"4h\"", text)
	}
	*d = Duration(v)
	return nil
}

// Size is a number of bytes. In TOML it is a plain integer (bytes) or a
// string with a binary unit: "512B", "64KiB", "50MiB", "2GiB".
type Size int64

// Units of Size.
const (
	Byte Size = 1
	KiB       = 1024 * Byte
	MiB       = 1024 * KiB
	GiB       = 1024 * MiB
)

var sizeUnits = []struct {
	name string
	mult Size
}{{"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}, {"B", Byte}}

// String formats s in the largest unit that divides it exactly.
func (s Size) String() string {
	if s == 0 {
		return "0"
	}
	for _, u := range sizeUnits {
		if s%u.mult == 0 {
			return strconv.FormatInt(int64(s/u.mult), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// MarshalText implements encoding.TextMarshaler.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler. It accepts a
// non-negative integer optionally followed by B, KiB, MiB or GiB.
// Decimal units (KB, MB, GB) are refused rather than guessed at.
func (s *Size) UnmarshalText(text []byte) error {
	v, err := parseSize(strings.TrimSpace(string(text)))
	if err != nil {
		return fmt.Errorf("invalid size %q: %w", text, err)
	}
	*s = v
	return nil
}

func parseSize(t string) (Size, error) {
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, errors.New("write a whole number of bytes, optionally with a unit: B, KiB, MiB or GiB")
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, errors.New("number too large")
	}
	unit := strings.TrimSpace(t[i:])
	mult := Size(0)
	for _, u := range sizeUnits {
		if unit == u.name {
			mult = u.mult
		}
	}
	switch {
	case unit == "":
		mult = Byte
	case mult == 0:
		return 0, fmt.Errorf("unknown unit %q: use B, KiB, MiB or GiB", unit)
	}
	if n > math.MaxInt64/int64(mult) {
		return 0, errors.New("number too large")
	}
	return Size(n) * mult, nil
}

// Secret is a string that must never be shown: printing it with fmt, slog,
// encoding/json or WriteTOML gives a redacted form. The value itself is
// string(s).
type Secret string

const redacted = "REDACTED"

// String returns s with its password parts replaced by "REDACTED". For a
// PostgreSQL connection string in URL or keyword/value form the rest is kept,
// so the host and database can still be seen in logs; anything else is
// redacted whole.
func (s Secret) String() string { return redactDSN(string(s)) }

// GoString implements fmt.GoStringer so that %#v redacts too.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// MarshalText implements encoding.TextMarshaler with the redacted form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue implements slog.LogValuer with the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

var kvPassword = regexp.MustCompile(`(?i)(\b\w*password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)`)

func redactDSN(s string) string {
	if s == "" {
		return ""
	}
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		u, err := url.Parse(s)
		if err != nil {
			return redacted
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), redacted)
		}
		q := u.Query()
		for k := range q {
			if strings.Contains(strings.ToLower(k), "password") {
				q.Set(k, redacted)
				u.RawQuery = q.Encode()
			}
		}
		return u.String()
	}
	if strings.Contains(s, "=") && !strings.Contains(s, "://") {
		return kvPassword.ReplaceAllString(s, "${1}"+redacted)
	}
	return redacted
}
