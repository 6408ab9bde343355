package account

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Password limits.
const (
	// DefaultMinPasswordLength is the shortest password, in characters,
	// when no other minimum is configured.
	DefaultMinPasswordLength = 12
	// MaxPasswordLength bounds a password in octets; NIST SP 800-63B asks
	// that at least 64 characters be allowed.
	MaxPasswordLength = 1024
)

// Sizes of the random salt and the derived key, in octets (RFC 9106
// section 3.1 recommends a 16-octet salt and a 32-octet tag).
const (
	saltLen = 16
	keyLen  = 32
)

// Bounds on parameters read from a stored hash, so a corrupt or hostile
// hash cannot make Verify allocate without limit or run for minutes.
const (
	maxMemoryKiB = 4 << 20 // 4 GiB
	maxTime      = 64
	minSaltLen   = 8
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 64
)

// Hasher hashes passwords with argon2id (RFC 9106). The zero Hasher is not
// usable; start from DefaultHasher.
type Hasher struct {
	Time      uint32 // passes over memory (argon2 t)
	MemoryKiB uint32 // memory in KiB (argon2 m)
	Threads   uint8  // lanes (argon2 p)
}

// DefaultHasher returns the parameters Sealpost uses: t=3, m=64 MiB, p=2,
// the second recommended option of RFC 9106 section 4 with the lanes
// matched to a small server. Measured with BenchmarkHash on a 2-core AMD
// EPYC virtual machine, one hash takes about 105 ms when the machine is
// otherwise idle (190 ms when it is busy). Every login costs one hash and
// 64 MiB while it runs, so servers bound the number of logins verified at
// once.
func DefaultHasher() Hasher {
	return Hasher{Time: 3, MemoryKiB: 64 << 10, Threads: 2}
}

func (h Hasher) check() error {
	switch {
	case h.Time < 1 || h.Time > maxTime:
		return fmt.Errorf("argon2id: time %d out of range 1..%d", h.Time, maxTime)
	case h.Threads < 1:
		return errors.New("argon2id: threads must be at least 1")
	case h.MemoryKiB < 8*uint32(h.Threads) || h.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("argon2id: memory %d KiB out of range %d..%d", h.MemoryKiB, 8*uint32(h.Threads), maxMemoryKiB)
	}
	return nil
}

// Hash returns the PHC string of pw with a fresh random salt, for example
// "$argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>". The password is first
// NFC-normalised, as the OpaqueString profile of RFC 8265 does, so that the
// same password typed on different systems matches.
func (h Hasher) Hash(pw string) (string, error) {
	if err := h.check(); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("argon2id: salt: %w", err)
	}
	key := argon2.IDKey([]byte(norm.NFC.String(pw)), salt, h.Time, h.MemoryKiB, h.Threads, keyLen)
	return h.encode(salt, key), nil
}

func (h Hasher) encode(salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.MemoryKiB, h.Time, h.Threads, base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// Verify reports whether pw matches the PHC string phc. It uses the
// parameters stored in phc, not those of h, so hashes made before a change
// of parameters still verify. An error means phc is malformed.
func (h Hasher) Verify(phc, pw string) (bool, error) {
	ph, salt, key, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(norm.NFC.String(pw)), salt, ph.Time, ph.MemoryKiB, ph.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether phc was made with parameters other than h's
// (or is malformed), so a caller holding the password after a successful
// login can store a new hash.
func (h Hasher) NeedsRehash(phc string) bool {
	ph, salt, key, err := parsePHC(phc)
	return err != nil || ph != h || len(salt) != saltLen || len(key) != keyLen
}

// parsePHC splits "$argon2id$v=19$m=M,t=T,p=P$salt$hash".
func parsePHC(phc string) (h Hasher, salt, key []byte, err error) {
	fail := func(why string) (Hasher, []byte, []byte, error) {
		return Hasher{}, nil, nil, fmt.Errorf("argon2id: malformed hash: %s", why)
	}
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" {
		return fail("not a PHC string")
	}
	if parts[1] != "argon2id" {
		return fail("algorithm is not argon2id")
	}
	if parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return fail("unsupported version")
	}
	if h, err = parseParams(parts[3]); err != nil {
		return fail("bad parameters")
	}
	if err := h.check(); err != nil {
		return fail(err.Error())
	}
	if salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return fail("bad salt")
	}
	if key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return fail("bad hash")
	}
	return h, salt, key, nil
}

// parseParams parses "m=M,t=T,p=P" in that order (the order the PHC string
// format specifies for argon2), decimal without leading zeros.
func parseParams(s string) (Hasher, error) {
	var v [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		field, rest, _ := strings.Cut(s, ",")
		digits, ok := strings.CutPrefix(field, name)
		if !ok || digits == "" || len(digits) > 1 && digits[0] == '0' {
			return Hasher{}, errors.New("bad field")
		}
		n, err := strconv.ParseUint(digits, 10, 32)
		if err != nil {
			return Hasher{}, err
		}
		v[i], s = n, rest
	}
	if s != "" || v[2] > 255 {
		return Hasher{}, errors.New("bad fields")
	}
	return Hasher{MemoryKiB: uint32(v[0]), Time: uint32(v[1]), Threads: uint8(v[2])}, nil
}

// CheckPassword checks a new password: valid UTF-8, at least minLen
// characters (DefaultMinPasswordLength if minLen < 1), at most
// MaxPasswordLength octets, not only white space, no control characters
// (often a stray newline from a file), and not one of the most common
// passwords (IsCommonPassword), as NIST SP 800-63B section 5.1.1.2 asks.
// Errors wrap ErrInvalid and never contain the password.
func CheckPassword(pw string, minLen int) error {
	if minLen < 1 {
		minLen = DefaultMinPasswordLength
	}
	switch {
	case !utf8.ValidString(pw):
		return invalidf("password: not valid UTF-8")
	case len(pw) > MaxPasswordLength:
		return invalidf("password: longer than %d octets", MaxPasswordLength)
	case utf8.RuneCountInString(norm.NFC.String(pw)) < minLen:
		return invalidf("password: shorter than %d characters", minLen)
	case strings.TrimFunc(pw, unicode.IsSpace) == "":
		return invalidf("password: only white space")
	case strings.IndexFunc(pw, unicode.IsControl) >= 0:
		return invalidf("password: contains control characters")
	case IsCommonPassword(pw):
		return invalidf("password: one of the most common passwords, which are guessed first: choose another")
	}
	return nil
}

// CheckPasswordFor is CheckPassword for the account a, also refusing the
// address itself, its local part or its domain as the password.
func CheckPasswordFor(a Address, pw string, minLen int) error {
	if err := CheckPassword(pw, minLen); err != nil {
		return err
	}
	p := strings.TrimSpace(pw)
	for _, s := range []string{a.String(), a.Local, a.Domain} {
		if strings.EqualFold(p, s) {
			return invalidf("password: must not be the address or a part of it")
		}
	}
	return nil
}
