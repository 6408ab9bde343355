package arc

import (
	"bufio"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/dkim"
)

// Errors of Sealer.Seal.
var (
	// ErrChainEnded: the latest ARC-Seal of the message says cv=fail, so
	// no set is added (RFC 8617 section 5.1 step 2).
	ErrChainEnded = errors.New("arc: the chain ended with cv=fail; not sealed")
	// ErrTooManySets: the message already has MaxInstances sets.
	ErrTooManySets = errors.New("arc: the chain has 50 sets; not sealed")
)

// DefaultHeaders returns the fields an ARC-Message-Signature covers when
// Sealer.Headers is nil, each as many times as the message has it: those
// DKIM signs, plus the DKIM signatures already there (RFC 8617 section
// 4.1.2 recommends covering them). Authentication-Results and the ARC
// fields are never signed (section 4.1.2).
func DefaultHeaders() []string { return append(dkim.DefaultHeaders(), "DKIM-Signature") }

// Sealer adds ARC sets for one domain, selector and key.
type Sealer struct {
	Domain   string        // d= of both signatures
	Selector string        // s=
	Key      crypto.Signer // RSA (1024 bits or more; receivers expect RSA) or Ed25519
	// Headers are the names the AMS signs, in h= order, each signed once
	// whether or not the message has it. Nil means DefaultHeaders, each
	// listed once per field the message has.
	Headers []string
	// Now gives t=; nil means time.Now.
	Now func() time.Time
}

// NewSet is an ARC set made by Sealer.Seal: three header fields, each
// "Name: value" folded and ending in CRLF.
type NewSet struct {
	Instance    int
	CV          Status // the cv= of the seal
	AuthResults string // ARC-Authentication-Results
	MessageSig  string // ARC-Message-Signature
	Seal        string // ARC-Seal
}

// String returns the three fields in the order they go on top of the
// message: ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results.
func (n *NewSet) String() string { return n.Seal + n.MessageSig + n.AuthResults }

// Seal reads a message as it will be sent on (every change made, RFC 8617
// section 5.1 step 1) and makes the next ARC set. authservID and results
// are our Authentication-Results: the authserv-id and the text after it
// ("spf=pass smtp.mailfrom=...; dkim=pass ...; arc=pass ..."), which
// becomes the ARC-Authentication-Results. chain is the validation of the
// chain the message arrived with; its status is the seal's cv=. When the
// chain failed, the seal covers only the new set (section 5.1.2).
func (s *Sealer) Seal(r io.Reader, authservID, results string, chain *Result) (*NewSet, error) {
	if err := s.check(authservID, chain); err != nil {
		return nil, err
	}
	br := bufio.NewReader(r)
	h, err := dkim.ReadHeader(br, 0)
	if err != nil {
		return nil, err
	}
	if latestSealFailed(h) {
		return nil, ErrChainEnded
	}
	found, sets := collect(h)
	n := found.Instances + 1
	if n > MaxInstances {
		return nil, ErrTooManySets
	}
	cv := chain.Status
	if cv == StatusPass && found.Status != "" {
		return nil, fmt.Errorf("arc: chain reported pass but the message's ARC sets are %s (%s)", found.Status, found.Reason)
	}
	if cv == StatusNone && found.Status != StatusNone {
		return nil, errors.New("arc: chain reported none but the message has ARC fields")
	}
	alg := algorithmOf(s.Key)
	set := &NewSet{Instance: n, CV: cv}
	set.AuthResults = aarField(n, authservID, results)
	if set.MessageSig, err = s.messageSig(h, br, alg, n); err != nil {
		return nil, err
	}
	if cv != StatusPass {
		sets = nil // section 5.1.2: as if the new set were the only one
	}
	sets = append(sets, arcSet{aar: []byte(set.AuthResults), ams: []byte(set.MessageSig)})
	if set.Seal, err = s.seal(sets, alg, n, cv); err != nil {
		return nil, err
	}
	return set, nil
}

func (s *Sealer) check(authservID string, chain *Result) error {
	switch {
	case !dkim.ValidDomain(s.Domain):
		return fmt.Errorf("arc: invalid sealing domain %q", s.Domain)
	case !validSelector(s.Selector):
		return fmt.Errorf("arc: invalid selector %q", s.Selector)
	case s.Key == nil:
		return errors.New("arc: no sealing key")
	case algorithmOf(s.Key) == "":
		return fmt.Errorf("arc: unsupported key type %T", s.Key.Public())
	case authservID == "" || strings.ContainsAny(authservID, " \t\r\n;()\""):
		return fmt.Errorf("arc: invalid authserv-id %q", authservID)
	case chain == nil:
		return errors.New("arc: no chain validation result")
	case chain.Status != StatusNone && chain.Status != StatusPass && chain.Status != StatusFail:
		return fmt.Errorf("arc: invalid chain status %q", chain.Status)
	}
	if pub, ok := s.Key.Public().(*rsa.PublicKey); ok && pub.N.BitLen() < dkim.MinRSABits {
		return fmt.Errorf("arc: RSA key of %d bits is too short (RFC 8301)", pub.N.BitLen())
	}
	return nil
}

func algorithmOf(key crypto.Signer) dkim.Algorithm {
	switch key.Public().(type) {
	case *rsa.PublicKey:
		return dkim.RSASHA256
	case ed25519.PublicKey:
		return dkim.Ed25519SHA256
	}
	return ""
}

// latestSealFailed reports whether the ARC-Seal with the highest readable
// instance says cv=fail.
func latestSealFailed(h dkim.Header) bool {
	top, failed := 0, false
	for _, f := range h {
		if !strings.EqualFold(f.Name, SealField) {
			continue
		}
		tags, err := parseTags(f.Value())
		if err != nil {
			continue
		}
		i, err := parseInstance(tags.Get("i"))
		if err != nil || i < top {
			continue
		}
		top, failed = i, tags.Get("cv") == string(StatusFail)
	}
	return failed
}

// aarField writes the ARC-Authentication-Results field, one result a line.
func aarField(n int, authservID, results string) string {
	parts := splitResults(results)
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: i=%d; %s;", AuthResultsField, n, authservID)
	for i, p := range parts {
		if i > 0 {
			b.WriteString(";")
		}
		b.WriteString("\r\n\t")
		b.WriteString(unfold(p))
	}
	b.WriteString("\r\n")
	return b.String()
}

// messageSig makes the ARC-Message-Signature: relaxed/relaxed, tags in
// alphabetical order (the order the ARC test suite's expected fields use).
func (s *Sealer) messageSig(h dkim.Header, body io.Reader, alg dkim.Algorithm, n int) (string, error) {
	lw := &dkim.LimitHash{Hash: alg.Hash().New(), Limit: -1}
	bc := dkim.NewBodyCanonicalizer(dkim.Relaxed, lw)
	if _, err := io.Copy(bc, body); err != nil {
		return "", err
	}
	if err := bc.Close(); err != nil {
		return "", err
	}
	names := s.headerNames(h)
	tags := []string{
		"bh=" + base64.StdEncoding.EncodeToString(lw.Hash.Sum(nil)),
		"c=relaxed/relaxed",
		"d=" + s.Domain,
		"h=" + strings.Join(names, ":"),
		"i=" + strconv.Itoa(n),
		"s=" + s.Selector,
		"t=" + strconv.FormatInt(s.now().Unix(), 10),
	}
	unsigned := sigField(MessageSigField, alg, tags, "")
	digest := dkim.HeaderHash(alg.Hash().New(), dkim.Relaxed, h.SelectFields(names), []byte(unsigned))
	sig, err := dkim.SignHash(s.Key, alg, digest)
	if err != nil {
		return "", err
	}
	return sigField(MessageSigField, alg, tags, base64.StdEncoding.EncodeToString(sig)), nil
}

// headerNames returns the h= list: Sealer.Headers lower-cased, or each
// default name once per field the message has. Authentication-Results and
// the ARC fields are left out.
func (s *Sealer) headerNames(h dkim.Header) []string {
	var names []string
	if s.Headers != nil {
		for _, n := range s.Headers {
			names = append(names, strings.ToLower(n))
		}
		return names
	}
	for _, n := range DefaultHeaders() {
		for range h.Count(n) {
			names = append(names, strings.ToLower(n))
		}
	}
	if len(names) == 0 || h.Count("From") == 0 {
		names = append(names, "from")
	}
	return names
}

// seal makes the ARC-Seal over sets, the last being the new one.
func (s *Sealer) seal(sets []arcSet, alg dkim.Algorithm, n int, cv Status) (string, error) {
	tags := []string{
		"cv=" + string(cv),
		"d=" + s.Domain,
		"i=" + strconv.Itoa(n),
		"s=" + s.Selector,
		"t=" + strconv.FormatInt(s.now().Unix(), 10),
	}
	unsigned := sigField(SealField, alg, tags, "")
	digest := sealHash(alg.Hash().New(), sets, []byte(unsigned))
	sig, err := dkim.SignHash(s.Key, alg, digest)
	if err != nil {
		return "", err
	}
	return sigField(SealField, alg, tags, base64.StdEncoding.EncodeToString(sig)), nil
}

func (s *Sealer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// maxLine is the folding width (RFC 5322 section 2.1.1 recommends 78).
const maxLine = 78

// sigField writes "Name: a=ALG;" then b= on a line of its own, then the
// other tags folded to maxLine. b= having a line of its own keeps the rest
// of the field the same whatever its length, so the field hashed with b=
// empty and the field sent differ only in b='s value. The b= value is not
// folded: an ARC-Seal hashes the earlier ARC fields, whitespace inside
// their b= included (relaxed canonicalization keeps it as a space), and
// the ARC test suite's expected seals assume unfolded values. A 2048-bit
// RSA b= is 344 characters, well within the 998 of RFC 5322.
func sigField(name string, alg dkim.Algorithm, tags []string, b string) string {
	var out strings.Builder
	fmt.Fprintf(&out, "%s: a=%s;\r\n\tb=%s", name, alg, b)
	out.WriteString(";\r\n\t")
	col := 8
	for i, tag := range tags {
		if i > 0 {
			out.WriteString(";")
			col++
			if col+1+len(tag) > maxLine {
				out.WriteString("\r\n\t")
				col = 8
			} else {
				out.WriteString(" ")
				col++
			}
		}
		out.WriteString(foldColons(tag, &col))
	}
	out.WriteString("\r\n")
	return out.String()
}

// foldColons writes a tag, breaking a long h= list after its colons.
func foldColons(tag string, col *int) string {
	var out strings.Builder
	for j, part := range strings.SplitAfter(tag, ":") {
		if j > 0 && *col+len(part) > maxLine {
			out.WriteString("\r\n\t ")
			*col = 9
		}
		out.WriteString(part)
		*col += len(part)
	}
	return out.String()
}
