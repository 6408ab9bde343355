package dkim

import (
	"bufio"
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultHeaders returns the fields a Signer signs when Signer.Headers is
// nil: the ones a reader sees or that change how the message is shown,
// threaded or unsubscribed from. Each is oversigned.
func DefaultHeaders() []string { return slices.Clone(defaultHeaders) }

var defaultHeaders = []string{
	"From", "Reply-To", "To", "Cc", "Subject", "Date", "Message-ID",
	"In-Reply-To", "References", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "Content-Language", "Content-Disposition",
	"List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post",
	"List-Subscribe", "List-Post", "List-Owner", "List-Archive",
	"Sender", "Autocrypt",
}

// Signer makes DKIM signatures for one domain, selector and key.
//
// Oversigning: every header name to sign is listed in h= once more than the
// message has fields of that name (once when it has none), so a field of
// that name added later, above or below, changes the header hash and breaks
// the signature (RFC 6376 section 8.15).
type Signer struct {
	Domain   string        // d=
	Selector string        // s=
	Key      crypto.Signer // an Ed25519 or RSA (2048 bits or more) private key
	// Identity is i=, left out when empty.
	Identity string
	// HeaderCanon and BodyCanon default to relaxed.
	HeaderCanon, BodyCanon Canon
	// Headers are the names to sign; nil means DefaultHeaders(). From is
	// always signed.
	Headers []string
	// Expiration, when not zero, sets x= that long after t=.
	Expiration time.Duration
	// Now gives t=; nil means time.Now.
	Now func() time.Time
}

func (s *Signer) canons() (Canon, Canon) {
	h, b := s.HeaderCanon, s.BodyCanon
	if h == "" {
		h = Relaxed
	}
	if b == "" {
		b = Relaxed
	}
	return h, b
}

func (s *Signer) check() error {
	h, b := s.canons()
	switch {
	case !ValidDomain(s.Domain):
		return fmt.Errorf("dkim: invalid signing domain %q", s.Domain)
	case !ValidSelector(s.Selector):
		return fmt.Errorf("dkim: invalid selector %q", s.Selector)
	case s.Key == nil:
		return errors.New("dkim: no signing key")
	case !h.valid() || !b.valid():
		return fmt.Errorf("dkim: invalid canonicalization %s/%s", h, b)
	case s.Identity != "" && !validIdentity(s.Identity, s.Domain):
		return fmt.Errorf("dkim: identity %q is not an address in %s without ';', '=' or spaces", s.Identity, s.Domain)
	}
	for _, name := range s.Headers {
		if !validFieldName(name) {
			return fmt.Errorf("dkim: invalid header name %q", name)
		}
	}
	if pub, ok := s.Key.Public().(*rsa.PublicKey); ok && pub.N.BitLen() < MinRSABits {
		return fmt.Errorf("dkim: RSA key of %d bits is too short (RFC 8301)", pub.N.BitLen())
	}
	_, err := algorithmFor(s.Key)
	return err
}

// validIdentity checks i= for signing: "[local]@domain" in d=, with no
// character that would need dkim-quoted-printable (RFC 6376 section 2.11).
func validIdentity(i, domain string) bool {
	for j := 0; j < len(i); j++ {
		if i[j] < 0x21 || i[j] > 0x7e || i[j] == ';' || i[j] == '=' {
			return false
		}
	}
	return strings.Contains(i, "@") && IsSubdomain(identityDomain(i), domain)
}

// Sign reads the message from r and returns a DKIM-Signature header field,
// folded and ending in CRLF, to be put at the top of the message.
func (s *Signer) Sign(r io.Reader) (string, error) {
	fields, err := SignAll(r, []*Signer{s})
	if err != nil {
		return "", err
	}
	return fields[0], nil
}

// SignAll signs a message with several signers, typically one Ed25519 and
// one RSA key of the same domain, reading the body once and hashing it
// once per body canonicalization. The fields are returned in signers' order;
// each covers only the original message, not the other new fields.
func SignAll(r io.Reader, signers []*Signer) ([]string, error) {
	if len(signers) == 0 {
		return nil, errors.New("dkim: no signers")
	}
	for _, s := range signers {
		if err := s.check(); err != nil {
			return nil, err
		}
	}
	br := bufio.NewReaderSize(r, 4<<10)
	h, err := ReadHeader(br, 0)
	if err != nil {
		return nil, err
	}
	if h.Count("From") != 1 {
		return nil, fmt.Errorf("dkim: message has %d From fields, want 1", h.Count("From"))
	}
	hashers := map[bodyHashKey]*bodyHasher{}
	for _, s := range signers {
		_, b := s.canons()
		k := bodyHashKey{b, crypto.SHA256, -1}
		if hashers[k] == nil {
			hashers[k] = newBodyHasher(k)
		}
	}
	if err := hashBody(br, hashers); err != nil {
		return nil, err
	}
	out := make([]string, len(signers))
	for i, s := range signers {
		_, b := s.canons()
		bh := hashers[bodyHashKey{b, crypto.SHA256, -1}].count.Hash.Sum(nil)
		if out[i], err = s.signHeader(h, bh); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// signHeader builds the field for a message with header h and body hash bh.
func (s *Signer) signHeader(h Header, bh []byte) (string, error) {
	alg, _ := algorithmFor(s.Key)
	hc, bc := s.canons()
	names := s.headerList(h)
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := now().Unix()
	tags := []string{
		"v=1", "a=" + string(alg), "c=" + string(hc) + "/" + string(bc),
		"d=" + s.Domain, "s=" + s.Selector,
	}
	if s.Identity != "" {
		tags = append(tags, "i="+s.Identity)
	}
	tags = append(tags, "t="+strconv.FormatInt(t, 10))
	if s.Expiration > 0 {
		tags = append(tags, "x="+strconv.FormatInt(t+int64(s.Expiration/time.Second), 10))
	}
	tags = append(tags, "h="+strings.Join(names, ":"), "bh="+base64.StdEncoding.EncodeToString(bh))
	unsigned := foldTags("DKIM-Signature:", tags) + ";\r\n b="
	digest := HeaderHash(alg.Hash().New(), hc, h.SelectFields(names), []byte(unsigned))
	sig, err := SignHash(s.Key, alg, digest)
	if err != nil {
		return "", fmt.Errorf("dkim: signing: %w", err)
	}
	return unsigned + foldBase64(base64.StdEncoding.EncodeToString(sig)) + "\r\n", nil
}

// headerList returns h=: each name to sign, as many times as the message
// has it plus one (oversigning).
func (s *Signer) headerList(h Header) []string {
	names := s.Headers
	if names == nil {
		names = defaultHeaders
	}
	count := make(map[string]int, len(h))
	for _, f := range h {
		count[strings.ToLower(f.Name)]++
	}
	list := make([]string, 0, 2*len(names))
	done := make(map[string]bool, len(names))
	for _, name := range append([]string{"From"}, names...) {
		lower := strings.ToLower(name)
		if done[lower] {
			continue
		}
		done[lower] = true
		for range count[lower] + 1 {
			list = append(list, name)
		}
	}
	return list
}

// maxLine is the folding width of the fields Sealpost writes (RFC 5322
// section 2.1.1 recommends 78).
const maxLine = 78

// foldTags joins tags with "; " after prefix, starting a new line (CRLF and
// a space) before a tag that would pass maxLine. A long h= is folded after
// its colons.
func foldTags(prefix string, tags []string) string {
	var b strings.Builder
	b.WriteString(prefix)
	col := len(prefix)
	for i, tag := range tags {
		sep := " "
		if i > 0 {
			b.WriteString(";")
			col++
		}
		if col+len(sep)+len(tag) > maxLine {
			b.WriteString("\r\n")
			col = 0
		}
		for j, part := range strings.SplitAfter(tag, ":") {
			if j > 0 && col+len(part) > maxLine {
				b.WriteString("\r\n ")
				col = 1
			} else if j == 0 {
				b.WriteString(sep)
				col += len(sep)
			}
			b.WriteString(part)
			col += len(part)
		}
	}
	return b.String()
}

// foldBase64 breaks a base64 value into lines, the folds being folding
// whitespace that verifiers remove.
func foldBase64(s string) string {
	const width = 72
	var b strings.Builder
	for len(s) > width {
		b.WriteString(s[:width])
		b.WriteString("\r\n ")
		s = s[width:]
	}
	b.WriteString(s)
	return b.String()
}
