// Package srs implements the Sender Rewriting Scheme (Shevek, "Sender
// Rewriting Scheme", 2004; the scheme of libsrs2 and postsrsd), which lets
// Sealpost forward mail to outside addresses so that it passes SPF (RFC
// 7208) at the receiver, while bounces still reach the original sender.
//
// A forwarded message's reverse path (RFC 5321 section 4.1.2) is replaced
// by an address in the forwarding domain that encodes the original one:
//
//	SRS0=HHHH=TT=domain=local@ourdomain
//
// HHHH is the first HashLength characters of the base64 (RFC 4648 section
// 4) HMAC-SHA256 (RFC 2104), keyed by a secret, over the timestamp, the
// domain and the local part, each lower-cased, since mail systems may
// change the case of an address on the way back. TT is the day number
// modulo 1024 in two base32 characters (RFC 4648 section 6). Mail that
// comes back to it (a bounce, a reply) is sent to local@domain once the
// hash matches and the address is at most MaxAge old, so the rewritten
// address cannot be used to relay mail anywhere else.
//
// An address that is already SRS0 at another forwarder is rewritten to
// SRS1, which names that first hop instead of nesting a second timestamp:
//
//	SRS1=HHHH=firsthop==HHHH=TT=domain=local@ourdomain
//
// Reverse of it gives back the SRS0 address at the first hop, whose own
// forwarder checks its hash and age. An SRS1 address of another forwarder
// is rewritten to a new SRS1 at ours keeping the first hop, as libsrs2
// does.
//
// Reverse accepts a hash made with any of the secrets, the first of which
// signs, so that a secret can be replaced without refusing the bounces of
// mail already forwarded. Hashes are compared without regard to case, as
// libsrs2 does when the exact hash is not found: Sealpost lower-cases local
// parts, and so may the servers on the way back. The address that comes
// out is lower-cased too where the way back did so; outside servers treat
// local parts without regard to case in practice.
//
// Left out: the database-backed variant and the other separators than "="
// for addresses we make (Reverse accepts "SRS0+" and "SRS0-" as the paper
// allows); senders whose local part is quoted or whose SRS address would
// be longer than the 64 octets of a local part (RFC 5321 section
// 4.5.3.1.1) are not rewritten (Forward returns ErrUnsupported), and SRS1
// addresses are not checked for age, their first hop does that. The hash
// is not the HMAC-SHA1 of libsrs2: addresses are only ever read back by the
// server that made them.
package srs

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

const (
	// HashLength is the number of base64 characters of the HMAC kept in an
	// address, as in libsrs2.
	HashLength = 4
	// DefaultMaxAge is how long a rewritten address is honoured when MaxAge
	// is not set: 21 days, as in libsrs2 and postsrsd.
	DefaultMaxAge = 21 * 24 * time.Hour
	// MaxInput bounds the addresses Forward and Reverse read.
	MaxInput = 512
	// maxLocal is the longest local part we make (RFC 5321 section
	// 4.5.3.1.1).
	maxLocal = 64
	// MinSecretLength is the shortest secret accepted, in bytes.
	MinSecretLength = 16

	day        = 24 * time.Hour
	stampRange = 1024 // days a timestamp counts before it wraps
	base32Abc  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
)

// Errors of Reverse and Forward. Callers decide on them: ErrNotSRS means the
// address is an ordinary one; the others mean an SRS address that must be
// refused.
var (
	ErrNotSRS      = errors.New("not an SRS address")
	ErrMalformed   = errors.New("malformed SRS address")
	ErrBadHash     = errors.New("SRS address hash does not match")
	ErrExpired     = errors.New("SRS address expired")
	ErrUnsupported = errors.New("sender cannot be rewritten")
)

// Rewriter rewrites senders and reverses rewritten addresses. It is safe
// for concurrent use.
type Rewriter struct {
	secrets [][]byte
	// MaxAge is how long a rewritten address is honoured; 0 means
	// DefaultMaxAge. It is counted in whole days, at most 1023.
	MaxAge time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// New returns a Rewriter that signs with the first secret and accepts
// addresses signed with any of them.
func New(secrets ...[]byte) (*Rewriter, error) {
	if len(secrets) == 0 {
		return nil, errors.New("srs: no secret")
	}
	for i, s := range secrets {
		if len(s) < MinSecretLength {
			return nil, fmt.Errorf("srs: secret %d is %d bytes, the least is %d", i+1, len(s), MinSecretLength)
		}
	}
	return &Rewriter{secrets: secrets}, nil
}

// IsSRS reports whether the address's local part starts as an SRS address
// does ("SRS0=", "SRS1=", any case, or with "+" or "-"), so that it must be
// reversed or refused rather than delivered as an ordinary address.
func IsSRS(address string) bool {
	at := strings.LastIndexByte(address, '@')
	if at < 0 {
		return false
	}
	_, _, ok := cutTag(address[:at])
	return ok
}

// cutTag splits "SRS0=rest" into its tag ('0' or '1'), and the rest after
// the separator.
func cutTag(local string) (tag byte, rest string, ok bool) {
	if len(local) < 5 || !strings.EqualFold(local[:3], "SRS") || !strings.ContainsRune("=+-", rune(local[4])) {
		return 0, "", false
	}
	if local[3] != '0' && local[3] != '1' {
		return 0, "", false
	}
	return local[3], local[5:], true
}

// Forward returns the reverse path to use when forwarding mail from sender
// through ourDomain. The null sender, and senders in ourDomain, come back
// unchanged. An error wrapping ErrUnsupported means the sender cannot be
// rewritten (a quoted local part, a result too long) and should be kept.
func (r *Rewriter) Forward(sender, ourDomain string) (string, error) {
	if sender == "" {
		return "", nil
	}
	if len(sender) > MaxInput || len(ourDomain) > MaxInput {
		return "", fmt.Errorf("srs: sender longer than %d octets: %w", MaxInput, ErrUnsupported)
	}
	at := strings.LastIndexByte(sender, '@')
	if at <= 0 || at == len(sender)-1 {
		return "", fmt.Errorf("srs: sender %q: no local part or domain: %w", sender, ErrUnsupported)
	}
	local, domain := sender[:at], sender[at+1:]
	if strings.EqualFold(domain, ourDomain) {
		return sender, nil
	}
	if !plainLocal(local) || !plainDomain(domain) || !plainDomain(ourDomain) {
		return "", fmt.Errorf("srs: sender %q: %w", sender, ErrUnsupported)
	}
	var out string
	if tag, rest, ok := cutTag(local); ok && tag == '0' && rest != "" {
		// SRS0 at another forwarder: that forwarder is the first hop, and
		// the rest, separator included, is carried as it is.
		out = r.srs1(domain, local[4:])
	} else if ok && tag == '1' {
		first, srs0, ok := parseSRS1(rest)
		if !ok {
			return "", fmt.Errorf("srs: sender %q: %w", sender, ErrMalformed)
		}
		out = r.srs1(first, srs0)
	} else {
		stamp := encodeStamp(r.now())
		out = "SRS0=" + r.hash(r.secrets[0], stamp, domain, local) + "=" + stamp + "=" + domain + "=" + local
	}
	if len(out) > maxLocal {
		return "", fmt.Errorf("srs: rewriting %q gives a local part of %d octets: %w", sender, len(out), ErrUnsupported)
	}
	return out + "@" + ourDomain, nil
}

func (r *Rewriter) srs1(firstHop, srs0 string) string {
	return "SRS1=" + r.hash(r.secrets[0], firstHop, srs0) + "=" + firstHop + "=" + srs0
}

// parseSRS1 splits what follows "SRS1=": "HHHH=firsthop=" then the SRS0
// part, which starts with its own separator.
func parseSRS1(rest string) (firstHop, srs0 string, ok bool) {
	parts := strings.SplitN(rest, "=", 3)
	if len(parts) != 3 || parts[0] == "" || !plainDomain(parts[1]) || len(parts[2]) < 2 ||
		!strings.ContainsRune("=+-", rune(parts[2][0])) {
		return "", "", false
	}
	return parts[1], parts[2], true
}

// Reverse returns the address that the SRS address was made from. It
// fails with ErrNotSRS for an ordinary address, and with ErrMalformed,
// ErrBadHash or ErrExpired for an SRS address that must be refused.
func (r *Rewriter) Reverse(address string) (string, error) {
	if len(address) > MaxInput {
		return "", fmt.Errorf("srs: address longer than %d octets: %w", MaxInput, ErrMalformed)
	}
	at := strings.LastIndexByte(address, '@')
	if at < 0 {
		return "", ErrNotSRS
	}
	tag, rest, ok := cutTag(address[:at])
	if !ok {
		return "", ErrNotSRS
	}
	if tag == '1' {
		first, srs0, ok := parseSRS1(rest)
		if !ok {
			return "", fmt.Errorf("srs: %w", ErrMalformed)
		}
		if !r.verify(rest[:strings.IndexByte(rest, '=')], first, srs0) {
			return "", fmt.Errorf("srs: %w", ErrBadHash)
		}
		return "SRS0" + srs0 + "@" + first, nil
	}
	parts := strings.SplitN(rest, "=", 4)
	if len(parts) != 4 || len(parts[1]) != 2 || !plainDomain(parts[2]) || parts[3] == "" {
		return "", fmt.Errorf("srs: %w", ErrMalformed)
	}
	hash, stamp, domain, local := parts[0], parts[1], parts[2], parts[3]
	if !r.verify(hash, stamp, domain, local) {
		return "", fmt.Errorf("srs: %w", ErrBadHash)
	}
	age, ok := r.age(stamp)
	if !ok {
		return "", fmt.Errorf("srs: bad timestamp %q: %w", stamp, ErrMalformed)
	}
	if age > r.maxAgeDays() {
		return "", fmt.Errorf("srs: made %d days ago, honoured for %d: %w", age, r.maxAgeDays(), ErrExpired)
	}
	return local + "@" + domain, nil
}

// hash is the HMAC of the fields, lower-cased and each ended by a NUL
// (which no field holds) so that no two lists of fields hash alike.
func (r *Rewriter) hash(secret []byte, fields ...string) string {
	m := hmac.New(sha256.New, secret)
	for _, f := range fields {
		m.Write([]byte(strings.ToLower(f)))
		m.Write([]byte{0})
	}
	return base64.StdEncoding.EncodeToString(m.Sum(nil))[:HashLength]
}

// verify checks the hash against every secret, in constant time, without
// regard to case.
func (r *Rewriter) verify(hash string, fields ...string) bool {
	if len(hash) != HashLength {
		return false
	}
	got := []byte(strings.ToLower(hash))
	ok := 0
	for _, s := range r.secrets {
		ok |= subtle.ConstantTimeCompare(got, []byte(strings.ToLower(r.hash(s, fields...))))
	}
	return ok == 1
}

func (r *Rewriter) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

func (r *Rewriter) maxAgeDays() int {
	if r.MaxAge <= 0 {
		return int(DefaultMaxAge / day)
	}
	return min(int(r.MaxAge/day), stampRange-1)
}

// encodeStamp gives the day number of t modulo 1024 in two base32
// characters.
func encodeStamp(t time.Time) string {
	d := (t.Unix() / int64(day/time.Second)) % stampRange
	return string([]byte{base32Abc[d>>5], base32Abc[d&31]})
}

// age returns how many days ago the timestamp was made, modulo 1024: a
// timestamp from the future counts as nearly 1024 days old.
func (r *Rewriter) age(stamp string) (int, bool) {
	hi := strings.IndexByte(base32Abc, upper(stamp[0]))
	lo := strings.IndexByte(base32Abc, upper(stamp[1]))
	if hi < 0 || lo < 0 {
		return 0, false
	}
	then := hi<<5 | lo
	today := int((r.now().Unix() / int64(day/time.Second)) % stampRange)
	return ((today-then)%stampRange + stampRange) % stampRange, true
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// plainLocal reports whether a local part can be carried in an SRS
// address: a dot-atom of RFC 5321 section 4.1.2 characters, or UTF-8 (RFC
// 6531), without quotes, spaces or controls.
func plainLocal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// plainDomain reports whether a domain can be a field of an SRS address:
// letters, digits, hyphens, dots and UTF-8, nothing that separates fields.
func plainDomain(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' {
			continue
		}
		return false
	}
	return true
}
