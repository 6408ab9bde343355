package dkim

import (
	"crypto"
	"encoding/base64"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Algorithm is a signing algorithm, the a= tag (RFC 6376 section 3.3,
// RFC 8463 section 3).
type Algorithm string

// The algorithms Sealpost knows. RSASHA1 is recognised only to be refused
// (RFC 8301 section 3.1).
const (
	RSASHA256     Algorithm = "rsa-sha256"
	Ed25519SHA256 Algorithm = "ed25519-sha256"
	RSASHA1       Algorithm = "rsa-sha1"
)

// KeyType returns the key type the algorithm needs, "rsa" or "ed25519", or
// "" for an unknown algorithm.
func (a Algorithm) KeyType() string {
	switch a {
	case RSASHA256, RSASHA1:
		return "rsa"
	case Ed25519SHA256:
		return "ed25519"
	}
	return ""
}

// Hash returns the hash function of the algorithm (0 when unknown).
func (a Algorithm) Hash() crypto.Hash {
	switch a {
	case RSASHA256, Ed25519SHA256:
		return crypto.SHA256
	case RSASHA1:
		return crypto.SHA1
	}
	return 0
}

// HashName returns the name used in key records' h= tag: "sha256", "sha1".
func (a Algorithm) HashName() string {
	_, h, _ := strings.Cut(string(a), "-")
	return h
}

// Signature is a parsed DKIM-Signature header field (RFC 6376 section 3.5).
type Signature struct {
	Algorithm   Algorithm // a=, lower case
	Sig         []byte    // b=, decoded
	BodyHash    []byte    // bh=, decoded
	HeaderCanon Canon     // c=, header part
	BodyCanon   Canon     // c=, body part
	Domain      string    // d=, lower case
	Headers     []string  // h=, as written
	Identity    string    // i=, "@" + d= when absent
	// Length is l=, the number of canonical body bytes signed, or -1 when
	// the whole body is.
	Length     int64
	Selector   string    // s=
	Timestamp  time.Time // t=, zero when absent
	Expiration time.Time // x=, zero when absent
	Tags       TagList   // every tag, for the ones not broken out above
}

// maxTimeDigits bounds t= and x=: 12 digits reach year 33658, and keep the
// value inside int64 (RFC 6376 section 3.5 asks for at least 40 bits).
const maxTimeDigits = 12

// ParseSignature parses the value of a DKIM-Signature header field and
// checks what can be checked without DNS and the message: required tags,
// v=1, known canonicalization, a valid d=, i= inside d=, From in h=, x=
// not before t=, q=dns/txt. An unknown a= is not an error here: the
// verifier reports it (section 3.5 says to ignore what is not understood
// only for tags, not for algorithms, so it is permerror there).
func ParseSignature(value string) (*Signature, error) {
	s, _, err := parseSignature(value, new(sigBlock))
	return s, err
}

// sigBlock is a Signature with room for its parts: the tags, the names of
// h=, the decoded b= and bh=. Verifying a message parses one signature or
// two, and each of them was five allocations; with a block it is one for
// the usual signature, whose parts fit (a part that does not fit has an
// allocation of its own). The parts with pointers come first: the
// collector scans an object only up to its last pointer.
//
// Its size is chosen with oneSignature's: the two fit in 1,792 bytes, a size
// class of the allocator with nine objects to a span (at 2,048 bytes, four
// to a span, allocating them refilled the cache every fourth message).
type sigBlock struct {
	sig     Signature
	keyName string     // the key's DNS name, when made with Identity (parseIdentity)
	tags    [12]Tag    // of the 14 RFC 6376 defines, signers write 8 to 11
	names   [40]string // signers that oversign list some thirty
	raw     [320]byte  // an RSA-2048 b= and a SHA-256 bh= take 288, folds counted
}

// parseSignature is ParseSignature, also telling where b='s value is
// written in value, for the header hash to leave it out. The signature and
// its parts are made in blk.
func parseSignature(value string, blk *sigBlock) (*Signature, span, error) {
	tags, bSpan, err := parseTagListInto(blk.tags[:0], value, selfChecked)
	if err != nil {
		return nil, span{}, err
	}
	s, err := signatureFields(tags, blk)
	return s, bSpan, err
}

// signatureFields makes a Signature of its parsed tags, in blk.
func signatureFields(tags TagList, blk *sigBlock) (*Signature, error) {
	// One pass over the tags: every verification parses a signature, and
	// looking each tag up by name was a tenth of the time.
	var f sigFields
	for _, t := range tags {
		f.set(t)
	}
	var err error
	if missing := f.missing(); missing != "" {
		return nil, syntaxErr("missing required tag %s=", missing)
	}
	if f.v != "1" {
		return nil, syntaxErr("unsupported version v=%s", f.v)
	}
	s := &blk.sig
	*s = Signature{Tags: tags, Length: -1}
	s.Algorithm = Algorithm(strings.ToLower(f.a))
	if err := s.decodeHashes(f.b, f.bh, blk.raw[:0]); err != nil {
		return nil, err
	}
	if s.HeaderCanon, s.BodyCanon, err = ParseCanon(f.c); err != nil {
		return nil, err
	}
	s.Domain = strings.ToLower(f.d)
	if !ValidDomain(s.Domain) {
		return nil, syntaxErr("invalid domain d=%s", f.d)
	}
	if s.Headers, err = parseHeaderNames(blk.names[:0], f.h); err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(s.Headers, func(n string) bool { return strings.EqualFold(n, "From") }) {
		return nil, syntaxErr("h= does not include From")
	}
	s.Selector = f.s
	if !ValidSelector(s.Selector) {
		return nil, syntaxErr("invalid selector s=%s", s.Selector)
	}
	if err := s.parseIdentity(f.i, f.has&tagI != 0, &blk.keyName); err != nil {
		return nil, err
	}
	if err := s.parseOptional(&f); err != nil {
		return nil, err
	}
	return s, nil
}

// selfChecked tells the tags whose parsers refuse control characters
// themselves, so that ParseTagList need not look for them first: b= and
// bh= (base64) and h= (field names). They are most of a signature's bytes.
func selfChecked(name string) bool { return name == "b" || name == "bh" || name == "h" }

// sigFields holds the values of the tags a DKIM-Signature defines, and
// which of them are present.
type sigFields struct {
	v, a, b, bh, c, d, h, s, i, l, q, t, x string
	has                                    uint16
}

const (
	tagV = 1 << iota
	tagA
	tagB
	tagBH
	tagD
	tagH
	tagS
	tagI
	tagL
	tagQ
	tagT
	tagX
)

func (f *sigFields) set(t Tag) {
	dst, bit := f.field(t.Name)
	if dst != nil {
		*dst, f.has = t.Value, f.has|bit
	}
}

func (f *sigFields) field(name string) (*string, uint16) {
	switch name {
	case "v":
		return &f.v, tagV
	case "a":
		return &f.a, tagA
	case "b":
		return &f.b, tagB
	case "bh":
		return &f.bh, tagBH
	case "c":
		return &f.c, 0
	case "d":
		return &f.d, tagD
	case "h":
		return &f.h, tagH
	case "s":
		return &f.s, tagS
	case "i":
		return &f.i, tagI
	case "l":
		return &f.l, tagL
	case "q":
		return &f.q, tagQ
	case "t":
		return &f.t, tagT
	case "x":
		return &f.x, tagX
	}
	return nil, 0
}

// missing names the first required tag absent, in the order section 3.5
// lists them, or returns "".
func (f *sigFields) missing() string {
	for _, req := range [...]struct {
		name string
		bit  uint16
	}{{"v", tagV}, {"a", tagA}, {"b", tagB}, {"bh", tagBH}, {"d", tagD}, {"h", tagH}, {"s", tagS}} {
		if f.has&req.bit == 0 {
			return req.name
		}
	}
	return ""
}

// decodeHashes decodes b= and bh= into Sig and BodyHash, which share raw,
// or one allocation when they do not fit it.
func (s *Signature) decodeHashes(b, bh string, raw []byte) error {
	enc := base64.StdEncoding
	if n := enc.DecodedLen(len(b)) + enc.DecodedLen(len(bh)); n > cap(raw) {
		raw = make([]byte, 0, n)
	}
	raw, err := appendBase64(raw, b)
	if err != nil || len(raw) == 0 {
		return syntaxErr("invalid b= value")
	}
	s.Sig = raw[:len(raw):len(raw)]
	raw, err = appendBase64(raw, bh)
	if err != nil || len(raw) == len(s.Sig) {
		return syntaxErr("invalid bh= value")
	}
	s.BodyHash = raw[len(s.Sig):len(raw):len(raw)]
	return nil
}

// parseIdentity sets Identity from i=, or to "@" + d= when i= is absent,
// as most signers leave it. Then the key's DNS name (KeyName) is made in
// the same string, before it, and set in *keyName: one allocation for the
// two.
func (s *Signature) parseIdentity(i string, present bool, keyName *string) error {
	if !present {
		both := s.Selector + "._domainkey." + strings.TrimSuffix(s.Domain, ".") + "@" + s.Domain
		at := len(both) - len(s.Domain) - 1
		s.Identity, *keyName = both[at:], both[:at]
		return nil
	}
	at := strings.LastIndexByte(i, '@')
	if at < 0 {
		return syntaxErr("i=%s has no @", i)
	}
	if !IsSubdomain(strings.ToLower(i[at+1:]), s.Domain) {
		return syntaxErr("i=%s is not in d=%s", i, s.Domain)
	}
	s.Identity = i
	return nil
}

func (s *Signature) parseOptional(f *sigFields) error {
	if f.has&tagL != 0 {
		n, err := parseDigits(f.l, 76)
		if err != nil {
			return syntaxErr("invalid l=%s", f.l)
		}
		s.Length = n
	}
	if f.has&tagQ != 0 {
		found := false
		for _, m := range splitColonList(f.q) {
			found = found || strings.EqualFold(m, "dns/txt")
		}
		if !found {
			return syntaxErr("q=%s has no dns/txt", f.q)
		}
	}
	var err error
	if s.Timestamp, err = parseTime("t", f.t, f.has&tagT != 0); err != nil {
		return err
	}
	if s.Expiration, err = parseTime("x", f.x, f.has&tagX != 0); err != nil {
		return err
	}
	if !s.Timestamp.IsZero() && !s.Expiration.IsZero() && s.Expiration.Before(s.Timestamp) {
		return syntaxErr("x= is before t=")
	}
	return nil
}

func parseTime(name, v string, present bool) (time.Time, error) {
	if !present {
		return time.Time{}, nil
	}
	n, err := parseDigits(v, maxTimeDigits)
	if err != nil {
		return time.Time{}, syntaxErr("invalid %s=%s", name, v)
	}
	return time.Unix(n, 0), nil
}

// parseDigits parses a decimal number of at most max digits. Numbers too
// large for int64 (allowed by l='s 76 digits) become MaxInt64: no body is
// that long, so such an l= fails like any l= past the end.
func parseDigits(s string, max int) (int64, error) {
	if s == "" || len(s) > max {
		return 0, syntaxErr("bad number")
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, syntaxErr("bad number")
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 1<<63 - 1, nil
	}
	return n, nil
}

// ParseCanon parses a c= value: "header/body", or "header" alone meaning
// header/simple (RFC 6376 section 3.5). An empty value is simple/simple.
func ParseCanon(s string) (header, body Canon, err error) { return parseCanon(s) }

// ParseHeaderNames parses an h= list: header names separated by colons,
// folding whitespace allowed around them (RFC 6376 section 3.5). It does not
// require From; ParseSignature does.
func ParseHeaderNames(s string) ([]string, error) {
	return parseHeaderNames(nil, s)
}

// parseHeaderNames is ParseHeaderNames appending the names to names, when
// it has room for them all.
func parseHeaderNames(names []string, s string) ([]string, error) {
	if n := strings.Count(s, ":") + 1; n > cap(names) {
		// Sized once: signers that oversign list thirty names and more.
		names = make([]string, 0, n)
	}
	// One pass: a name of printable ASCII (validFieldName), folding
	// white space around it, a colon after it. A name's end is found
	// eight bytes a step (nameEnd): a test per byte mispredicted two or
	// three times a name, the names being of every length.
	i := 0
	for {
		for i < len(s) && isFWS(s[i]) {
			i++
		}
		start := i
		i = nameEnd(s, i)
		end := i
		for i < len(s) && isFWS(s[i]) {
			i++
		}
		// An empty name, white space inside one, or a byte outside
		// the grammar; else the name ends the list or a colon does.
		switch {
		case start == end:
			return nil, syntaxErr("invalid h= list %q", s)
		case i == len(s):
			return append(names, s[start:end]), nil
		case s[i] != ':':
			return nil, syntaxErr("invalid h= list %q", s)
		}
		names = append(names, s[start:end])
		i++
	}
}

// nameEnd returns the index of the first byte of s from i on that cannot
// be in a header field name (validFieldName), or len(s).
func nameEnd(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		if m := notNameBytes(load64(s, i)); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	if i == len(s) {
		return i
	}
	// The bytes left, with colons past the end.
	return i + bits.TrailingZeros64(notNameBytes(tailWord(s, i, ':')))/8
}

// notNameBytes flags, by its high bit, the bytes of w that cannot be in a
// header field name: below 0x21, above 0x7e, and the colon. The first
// flag is exact (a borrow in the first test goes only upwards, from a
// byte that is flagged).
func notNameBytes(w uint64) uint64 {
	low := w &^ highs
	colon := low ^ (ones * ':')
	return ((w-ones*0x21)&^w | (low + ones*1 | w) | ^(colon + ones*0x7f | colon)) & highs
}

// validFieldName checks a header field name: printable ASCII except colon
// (RFC 5322 section 3.6.8).
func validFieldName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		if n[i] < 0x21 || n[i] > 0x7e || n[i] == ':' {
			return false
		}
	}
	return true
}

// DecodeBase64 decodes a base64 tag value (b=, bh=, p=) that may hold
// folding whitespace.
func DecodeBase64(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(removeFWS(s))
}

// appendBase64 appends to dst the decoded s, a base64 value that may hold
// folding whitespace, as DecodeBase64 does. The whitespace is removed in a
// buffer on the stack, and dst grows only when it has no room.
func appendBase64(dst []byte, s string) ([]byte, error) {
	if out, ok := appendBase64Usual(dst, s); ok {
		return out, nil
	}
	var arr [1024]byte
	src := arr[:0]
	// Whitespace comes once a line: the runs between are copied whole.
	// A control character that is not whitespace is kept, for the
	// decoder to refuse.
	for len(s) > 0 {
		i := indexBelow(s, 0x21)
		if i < 0 {
			src = append(src, s...)
			break
		}
		src = append(src, s[:i]...)
		if !isFWS(s[i]) {
			src = append(src, s[i])
		}
		s = s[i+1:]
	}
	enc := base64.StdEncoding
	dst = slices.Grow(dst, enc.DecodedLen(len(src)))
	n, err := enc.Decode(dst[len(dst):cap(dst)], src)
	if err != nil {
		return nil, err
	}
	return dst[:len(dst)+n], nil
}

// appendBase64Usual is appendBase64 for the values signers write: the
// base64 alphabet and folding whitespace, and padding, if any, at the end.
// It decodes in one pass, whitespace skipped as it comes, where
// appendBase64 copies the value without it first and then decodes. For
// anything else (another character, padding before the end, a value that
// does not fill its last quantum) it returns false, and appendBase64
// leaves the verdict to the standard decoder. What it accepts, the
// standard decoder accepts alike: the bits past the last byte of a padded
// quantum are ignored (base64.StdEncoding is not Strict).
func appendBase64Usual(dst []byte, s string) ([]byte, bool) {
	// What a padded value decodes to, at most: no growing on the way.
	dst = slices.Grow(dst, base64.StdEncoding.DecodedLen(len(s)))
	var q uint32 // the sextets of the quantum so far
	n := 0       // how many
	i := 0
	for ; i < len(s); i++ {
		if n == 0 {
			// Between quanta: whole quanta without white space,
			// most of the value, go four characters at a time.
			for ; i+4 <= len(s); i += 4 {
				t := s[i : i+4] // one bounds check for the four
				a, b, c, d := base64Sextet[t[0]], base64Sextet[t[1]], base64Sextet[t[2]], base64Sextet[t[3]]
				if a|b|c|d >= 64 {
					break
				}
				w := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
				dst = append(dst, byte(w>>16), byte(w>>8), byte(w))
			}
			if i == len(s) {
				break
			}
		}
		v := base64Sextet[s[i]]
		if v >= 64 {
			if v == sextetFWS {
				continue
			}
			break // '=', or a character to leave to the decoder
		}
		q = q<<6 | uint32(v)
		if n++; n == 4 {
			dst = append(dst, byte(q>>16), byte(q>>8), byte(q))
			q, n = 0, 0
		}
	}
	if i == len(s) {
		return dst, n == 0
	}
	// Padding: "xx==" or "xxx=", then only whitespace.
	pad := 0
	for ; i < len(s); i++ {
		switch v := base64Sextet[s[i]]; {
		case v == sextetPad && n+pad < 4:
			pad++
		case v != sextetFWS:
			return dst, false
		}
	}
	switch {
	case n == 2 && pad == 2:
		return append(dst, byte(q>>4)), true
	case n == 3 && pad == 1:
		return append(dst, byte(q>>10), byte(q>>2)), true
	}
	return dst, false
}

// base64Sextet maps each byte to its value in the standard base64
// alphabet, or to sextetFWS, sextetPad or sextetOther. It is never written
// after init.
var base64Sextet = func() (t [256]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for c := range t {
		switch {
		case isFWS(byte(c)):
			t[c] = sextetFWS
		case c == '=':
			t[c] = sextetPad
		default:
			t[c] = sextetOther
		}
	}
	for i := range len(alphabet) {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

const (
	sextetFWS   = 64
	sextetPad   = 65
	sextetOther = 66
)

// ValidDomain reports whether d is a syntactically valid domain name for d=:
// labels of letters, digits and hyphens (RFC 6376 section 3.5, which points
// to RFC 5321 Domain), at least two labels, none empty or over 63 bytes,
// none starting or ending with a hyphen. Internationalised names are given
// as A-labels.
func ValidDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	return validLabels(d, false)
}

// ValidSelector checks an s= value: dot-separated labels (RFC 6376
// section 3.1). Underscores are let through, as some providers use them.
func ValidSelector(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	return validLabels(s, true)
}

// validLabels reports whether each dot-separated label of s is valid
// (validLabel). A loop on strings.Cut rather than strings.SplitSeq, whose
// iterator costs more than the labels of a usual d= and s=.
func validLabels(s string, underscore bool) bool {
	for {
		label, rest, more := strings.Cut(s, ".")
		if !validLabel(label, underscore) {
			return false
		}
		if !more {
			return true
		}
		s = rest
	}
}

func validLabel(l string, underscore bool) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !isAlpha(c) && !isDigit(c) && c != '-' && !(underscore && c == '_') {
			return false
		}
	}
	return true
}

// IsSubdomain reports whether sub is parent or a name below it; both are
// compared without case.
func IsSubdomain(sub, parent string) bool {
	sub, parent = strings.ToLower(sub), strings.ToLower(parent)
	return sub == parent || strings.HasSuffix(sub, "."+parent)
}
