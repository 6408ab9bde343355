package dkim

import (
	"bytes"
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
	alg, err := algorithmFor(s.Key)
	if err != nil {
		return err
	}
	if alg != RSASHA256 {
		return nil
	}
	if pub, ok := s.Key.Public().(*rsa.PublicKey); ok && pub.N.BitLen() < MinRSABits {
		return fmt.Errorf("dkim: RSA key of %d bits is too short (RFC 8301)", pub.N.BitLen())
	}
	return nil
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
	m := getMsgReader(r)
	defer m.release()
	br := m.br
	h, err := m.readHeader(br, 0)
	if err != nil {
		return nil, err
	}
	if n := h.Count("From"); n != 1 {
		return nil, fmt.Errorf("dkim: message has %d From fields, want 1", n)
	}
	var hashersArr [2]*bodyHasher
	hashers := bodyHashers(hashersArr[:0])
	bodies := make([]*bodyHasher, len(signers))
	for i, s := range signers {
		_, b := s.canons()
		hashers, bodies[i] = hashers.add(bodyHashKey{b, crypto.SHA256, -1})
	}
	defer hashers.release()
	if err := hashBodies(br, hashers); err != nil {
		return nil, err
	}
	out := make([]string, len(signers))
	for i, s := range signers {
		if out[i], err = s.signHeader(h, bodies[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// signHeader builds the field for a message with header h and body hash
// body.digest. The field is written once, folded as it goes, into the
// hasher's scratch buffer, and its header hash canonicalized into the other.
func (s *Signer) signHeader(h Header, body *bodyHasher) (string, error) {
	alg, _ := algorithmFor(s.Key)
	hc, bc := s.canons()
	names := s.headerList(h)
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := now().Unix()
	f := folder{buf: append(body.field[:0], "DKIM-Signature:"...)}
	f.col = len(f.buf)
	var tagArr [1024]byte
	tag := tagArr[:0]
	f = f.tag(append(tag[:0], "v=1"...))
	f = f.tag(append(append(tag[:0], "a="...), alg...))
	f = f.tag(append(append(append(append(tag[:0], "c="...), hc...), '/'), bc...))
	f = f.tag(append(append(tag[:0], "d="...), s.Domain...))
	f = f.tag(append(append(tag[:0], "s="...), s.Selector...))
	if s.Identity != "" {
		f = f.tag(append(append(tag[:0], "i="...), s.Identity...))
	}
	f = f.tag(strconv.AppendInt(append(tag[:0], "t="...), t, 10))
	if s.Expiration > 0 {
		f = f.tag(strconv.AppendInt(append(tag[:0], "x="...), t+int64(s.Expiration/time.Second), 10))
	}
	tag = append(tag[:0], "h="...)
	for i, name := range names {
		if i > 0 {
			tag = append(tag, ':')
		}
		tag = append(tag, name...)
	}
	f = f.tag(tag)
	f = f.tag(base64.StdEncoding.AppendEncode(append(tag[:0], "bh="...), body.digest))
	f.buf = append(f.buf, ";\r\n b="...)
	var digestArr [64]byte
	digest, _ := signedHeaderDigest(digestArr[:0], &body.header, alg, hc, h, names, f.buf, false)
	sig, err := SignHash(s.Key, alg, digest)
	if err != nil {
		return "", fmt.Errorf("dkim: signing: %w", err)
	}
	f.buf = appendFoldBase64(f.buf, base64.StdEncoding.AppendEncode(tag[:0], sig))
	f.buf = append(f.buf, "\r\n"...)
	body.field = f.buf[:0]
	return string(f.buf), nil
}

// headerList returns h=: each name to sign, as many times as the message
// has it plus one (oversigning). From comes first.
func (s *Signer) headerList(h Header) []string {
	names, distinct := s.Headers, false
	if names == nil {
		// Distinct already (TestDefaultHeaders).
		names, distinct = defaultHeaders, true
	}
	// Names are compared as lower-cased. The names to sign are ASCII
	// (Signer.check), and so are field names but in broken messages:
	// then the comparison needs no strings.ToLower, which allocates.
	ascii := true
	for _, f := range h {
		if !isASCII(f.Name) {
			ascii = false
			break
		}
	}
	same := func(a, b string) bool {
		if ascii {
			return equalFoldASCII(a, b)
		}
		return lowerEqual(a, b)
	}
	// How many fields each name has, counted in one pass over the
	// fields when the names are ASCII: each field is counted for the
	// first name it matches (a later equal name is left out below), and
	// lengths are compared first.
	var countsArr [64]int
	counted := ascii && len(names) <= len(countsArr)
	fromCount := 0
	if counted {
		for _, f := range h {
			if equalFoldASCII(f.Name, "From") {
				fromCount++
				continue
			}
			for i, name := range names {
				if len(name) == len(f.Name) && equalFoldASCII(f.Name, name) {
					countsArr[i]++
					break
				}
			}
		}
	}
	list := make([]string, 0, 2*len(names)+2)
	for i := -1; i < len(names); i++ {
		name := "From"
		if i >= 0 {
			name = names[i]
			if same(name, "From") || !distinct && slices.ContainsFunc(names[:i], func(n string) bool { return same(n, name) }) {
				continue
			}
		}
		n := 0
		switch {
		case counted && i < 0:
			n = fromCount
		case counted:
			n = countsArr[i]
		default:
			for _, f := range h {
				if same(f.Name, name) {
					n++
				}
			}
		}
		for range n + 1 {
			list = append(list, name)
		}
	}
	return list
}

// equalFoldASCII reports whether ASCII strings a and b are equal once
// lower-cased.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// lowerEqual reports whether a and b are equal once lower-cased.
func lowerEqual(a, b string) bool {
	// Not strings.EqualFold: the count must stay what it was with
	// lower-cased names, which differs for some non-ASCII letters.
	//lint:ignore SA6005 see above
	return strings.ToLower(a) == strings.ToLower(b)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// maxLine is the folding width of the fields Sealpost writes (RFC 5322
// section 2.1.1 recommends 78).
const maxLine = 78

// folder writes tags separated by "; ", starting a new line (CRLF and a
// space) before a tag that would pass maxLine. A long h= is folded after
// its colons.
type folder struct {
	buf   []byte
	col   int // the length of the current line
	count int // tags written
}

// tag returns f with tag written. (A method on *folder would make the
// caller's buffer escape.)
func (f folder) tag(tag []byte) folder {
	if f.count > 0 {
		f.buf = append(f.buf, ';')
		f.col++
	}
	f.count++
	if f.col+1+len(tag) > maxLine {
		f.buf = append(f.buf, "\r\n"...)
		f.col = 0
	}
	f.buf = append(f.buf, ' ')
	f.col++
	// The parts of tag, each up to and including a colon.
	for first := true; len(tag) > 0; first = false {
		end := len(tag)
		if i := bytes.IndexByte(tag, ':'); i >= 0 {
			end = i + 1
		}
		if !first && f.col+end > maxLine {
			f.buf = append(f.buf, "\r\n "...)
			f.col = 1
		}
		f.buf = append(f.buf, tag[:end]...)
		f.col += end
		tag = tag[end:]
	}
	return f
}

// foldBase64 breaks a base64 value into lines, the folds being folding
// whitespace that verifiers remove.
func foldBase64(s string) string {
	return string(appendFoldBase64(nil, []byte(s)))
}

// appendFoldBase64 appends b64 to dst, folded as foldBase64 does.
func appendFoldBase64(dst, b64 []byte) []byte {
	const width = 72
	for len(b64) > width {
		dst = append(dst, b64[:width]...)
		dst = append(dst, "\r\n "...)
		b64 = b64[width:]
	}
	return append(dst, b64...)
}
