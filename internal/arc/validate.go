package arc

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"

	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/dnsx"
)

// Status is a chain validation status (RFC 8617 section 4.4), also the
// cv= value of an ARC-Seal and the arc result of Authentication-Results.
type Status string

// The three statuses.
const (
	StatusNone Status = "none"
	StatusPass Status = "pass"
	StatusFail Status = "fail"
)

// Result is the outcome of validating a message's ARC chain.
type Result struct {
	Status Status
	// Reason says why, in a few words ("AMS(2) body hash did not
	// verify").
	Reason string
	// Instances is N, the highest instance found among the ARC fields
	// whose i= could be read (0 when there are none). A sealer's new set
	// takes N+1.
	Instances int
	// OldestPass is the lowest instance from which every AMS up to N
	// verifies, or 0 when they all do (section 5.2 step 5). It is set only
	// when Status is pass.
	OldestPass int
	// Temporary is set, with StatusFail, when a key lookup failed
	// temporarily: the fail might become a pass later.
	Temporary bool
	// Sets holds one entry per instance 1..N when every set is complete
	// and its fields parse (an older AMS excepted); nil otherwise.
	Sets []SetResult
}

// SetResult is what validation found out about one ARC set.
type SetResult struct {
	Instance    int
	AuthResults *AuthResults
	MessageSig  *MessageSignature // nil if it did not parse
	Seal        *Seal
	// AMS and AS are the verdicts on the set's signatures: pass, fail, or
	// none when not checked (validation stopped before, or an older AMS
	// past the first failure when looking for the oldest pass).
	AMS, AS Status
	// AMSReason and ASReason explain a fail.
	AMSReason, ASReason string
	// UnsignedBodyBytes counts the body bytes past an AMS's l=.
	UnsignedBodyBytes int64
}

// Latest returns the set with the highest instance, or nil.
func (r *Result) Latest() *SetResult {
	if len(r.Sets) == 0 {
		return nil
	}
	return &r.Sets[len(r.Sets)-1]
}

// Validator validates ARC chains (RFC 8617 section 5.2).
type Validator struct {
	// Resolver fetches the keys, DKIM key records at
	// selector._domainkey.domain.
	Resolver dnsx.Resolver
}

// Validate reads a whole message from r and validates its ARC chain. The
// error is for a message that cannot be read (dkim.ErrHeaderTooLarge, I/O);
// everything about the chain is in the Result.
func (v *Validator) Validate(ctx context.Context, r io.Reader) (*Result, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	h, err := dkim.ReadHeader(br, 0)
	if err != nil {
		return nil, err
	}
	return v.ValidateHeader(ctx, h, br)
}

// ValidateHeader is Validate for a message whose header was already read;
// body is the rest of the message, read to its end.
func (v *Validator) ValidateHeader(ctx context.Context, h dkim.Header, body io.Reader) (*Result, error) {
	res, sets := collect(h)
	if res.Status != "" {
		_, err := io.Copy(io.Discard, body)
		return res, err
	}
	hashes, err := hashBodies(res.Sets, body)
	if err != nil {
		return nil, err
	}
	ch := &checker{ctx: ctx, resolver: v.Resolver, header: h, sets: sets, bodies: hashes, res: res}
	ch.run()
	return res, nil
}

// Present reports whether h has any ARC field. Without one, Validate's
// answer is StatusNone, and a caller that has read the header can skip
// reading the message again.
func Present(h dkim.Header) bool {
	for _, f := range h {
		if strings.EqualFold(f.Name, AuthResultsField) || strings.EqualFold(f.Name, SealField) || strings.EqualFold(f.Name, MessageSigField) {
			return true
		}
	}
	return false
}

// arcSet holds the three fields of one instance.
type arcSet struct {
	aar, ams, as []byte // raw fields
}

// parsedSet holds the parsed fields of one instance. An AMS that does not
// parse is kept with its error: only the latest AMS must verify.
type parsedSet struct {
	raw    arcSet
	aar    *AuthResults
	seal   *Seal
	ams    *MessageSignature
	amsErr error
}

// collect finds the ARC sets and checks the chain's structure (section 5.2
// steps 1 to 3), parsing each field once. It returns a Result with a
// Status when that settles it, else one with Sets filled and the raw sets,
// index i-1 for instance i.
func collect(h dkim.Header) (*Result, []arcSet) {
	res := &Result{}
	byInstance := map[int]*parsedSet{}
	var bad error
	for _, f := range h {
		p, i, err := parseField(f, byInstance)
		switch {
		case p == nil:
			continue
		case err != nil:
			bad = cmp(bad, err)
			continue
		}
		res.Instances = max(res.Instances, i)
	}
	switch {
	case len(byInstance) == 0 && bad == nil:
		res.Status, res.Reason = StatusNone, "no ARC sets"
		return res, nil
	case bad != nil:
		res.Status, res.Reason = StatusFail, bad.Error()
		return res, nil
	}
	sets := make([]arcSet, res.Instances)
	res.Sets = make([]SetResult, res.Instances)
	for i := 1; i <= res.Instances; i++ {
		p := byInstance[i]
		if p == nil || p.raw.aar == nil || p.raw.ams == nil || p.raw.as == nil {
			res.Status, res.Reason, res.Sets = StatusFail, fmt.Sprintf("ARC set %d is incomplete", i), nil
			return res, nil
		}
		sets[i-1] = p.raw
		res.Sets[i-1] = SetResult{Instance: i, AuthResults: p.aar, Seal: p.seal, MessageSig: p.ams, AMS: StatusNone, AS: StatusNone}
		if p.amsErr != nil {
			res.Sets[i-1].AMS, res.Sets[i-1].AMSReason = StatusFail, p.amsErr.Error()
		}
	}
	if err := checkStructure(res); err != nil {
		res.Status, res.Reason = StatusFail, err.Error()
		return res, nil
	}
	return res, sets
}

func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// parseField parses f when it is an ARC field and files it under its
// instance. It returns nil for other fields, and an error for a field whose
// instance cannot be read, or that is malformed (except an AMS), or that
// repeats one already seen.
func parseField(f dkim.Field, byInstance map[int]*parsedSet) (*parsedSet, int, error) {
	var kind string
	var i int
	var err error
	var aar *AuthResults
	var seal *Seal
	var ams *MessageSignature
	switch value := f.Value(); {
	case strings.EqualFold(f.Name, AuthResultsField):
		kind = AuthResultsField
		if aar, err = ParseAuthResults(value); err == nil {
			i = aar.Instance
		}
	case strings.EqualFold(f.Name, SealField):
		kind = SealField
		if seal, err = ParseSeal(value); err == nil {
			i = seal.Instance
		}
	case strings.EqualFold(f.Name, MessageSigField):
		kind = MessageSigField
		if ams, err = ParseMessageSignature(value); err == nil {
			i = ams.Instance
		} else if i, _ = tagInstance(value); i > 0 {
			// Malformed but placed: judged later, when verifying.
			p := setFor(byInstance, i)
			if p.raw.ams != nil {
				return p, i, fmt.Errorf("two %s fields with i=%d", kind, i)
			}
			p.raw.ams, p.amsErr = f.Raw, err
			return p, i, nil
		}
	default:
		return nil, 0, nil
	}
	if err != nil {
		return &parsedSet{}, 0, fmt.Errorf("%s: %w", kind, err)
	}
	p := setFor(byInstance, i)
	var slot *[]byte
	switch kind {
	case AuthResultsField:
		slot, p.aar = &p.raw.aar, aar
	case SealField:
		slot, p.seal = &p.raw.as, seal
	default:
		slot, p.ams = &p.raw.ams, ams
	}
	if *slot != nil {
		return p, i, fmt.Errorf("two %s fields with i=%d", kind, i)
	}
	*slot = f.Raw
	return p, i, nil
}

func setFor(byInstance map[int]*parsedSet, i int) *parsedSet {
	p := byInstance[i]
	if p == nil {
		p = &parsedSet{}
		byInstance[i] = p
	}
	return p
}

// tagInstance reads the i= of a tag list that may be otherwise malformed.
func tagInstance(value string) (int, error) {
	tags, err := parseTags(value)
	if err != nil {
		return 0, err
	}
	return parseInstance(tags.Get("i"))
}

// checkStructure applies the rules of steps 2 and 3 that need the parsed
// fields: the latest AMS must parse, the latest seal must not say
// cv=fail, and the cv= of each seal must fit its place (none for i=1, pass
// after).
func checkStructure(res *Result) error {
	n := len(res.Sets)
	if latest := res.Sets[n-1]; latest.MessageSig == nil {
		return fmt.Errorf("ARC-Message-Signature(%d): %s", n, latest.AMSReason)
	}
	if res.Sets[n-1].Seal.CV == StatusFail {
		return fmt.Errorf("ARC-Seal(%d) says cv=fail", n)
	}
	for i, sr := range res.Sets {
		want := StatusPass
		if i == 0 {
			want = StatusNone
		}
		if sr.Seal.CV != want {
			return fmt.Errorf("ARC-Seal(%d) has cv=%s, not %s", i+1, sr.Seal.CV, want)
		}
	}
	return nil
}

func fieldValue(raw []byte) string {
	_, v, _ := bytes.Cut(raw, []byte(":"))
	return string(v)
}

// bodyKey identifies a body hash several AMS can share.
type bodyKey struct {
	canon  dkim.Canon
	hash   crypto.Hash
	length int64
}

// bodyHash is one body hash computed while the body streams by.
type bodyHash struct {
	canon *dkim.BodyCanonicalizer
	lw    *dkim.LimitHash
}

// hashBodies reads the body once through every body hash that a parsed
// AMS needs.
func hashBodies(sets []SetResult, body io.Reader) (map[bodyKey]*bodyHash, error) {
	hashes := map[bodyKey]*bodyHash{}
	var ws []io.Writer
	for _, sr := range sets {
		m := sr.MessageSig
		if m == nil || m.Algorithm.Hash() == 0 {
			continue
		}
		k := bodyKey{m.BodyCanon, m.Algorithm.Hash(), m.Length}
		if hashes[k] == nil {
			lw := &dkim.LimitHash{Hash: k.hash.New(), Limit: k.length}
			bh := &bodyHash{canon: dkim.NewBodyCanonicalizer(k.canon, lw), lw: lw}
			hashes[k] = bh
			ws = append(ws, bh.canon)
		}
	}
	if _, err := io.Copy(io.MultiWriter(ws...), body); err != nil {
		return nil, err
	}
	for _, bh := range hashes {
		if err := bh.canon.Close(); err != nil {
			return nil, err
		}
	}
	return hashes, nil
}

// checker runs steps 4 to 7 of section 5.2.
type checker struct {
	ctx      context.Context
	resolver dnsx.Resolver
	header   dkim.Header
	sets     []arcSet
	bodies   map[bodyKey]*bodyHash
	res      *Result
	keys     map[string]keyResult
}

type keyResult struct {
	key *dkim.Key
	err error
}

func (c *checker) run() {
	res := c.res
	n := len(c.sets)
	latest := &res.Sets[n-1]
	if !c.checkAMS(n) {
		res.Status = StatusFail
		res.Reason = fmt.Sprintf("ARC-Message-Signature(%d): %s", n, latest.AMSReason)
		return
	}
	for i := n; i >= 1; i-- {
		if !c.checkSeal(i) {
			res.Status = StatusFail
			res.Reason = fmt.Sprintf("ARC-Seal(%d): %s", i, res.Sets[i-1].ASReason)
			return
		}
	}
	res.Status, res.Reason = StatusPass, fmt.Sprintf("%d ARC sets verified", n)
	for i := n - 1; i >= 1; i-- {
		if !c.checkAMS(i) {
			res.OldestPass = i + 1
			break
		}
	}
	// A key of an older AMS that could not be fetched only makes the
	// oldest pass later; the chain's pass stands.
	res.Temporary = false
}

// checkAMS verifies the AMS of instance i, like a DKIM signature.
func (c *checker) checkAMS(i int) bool {
	sr := &c.res.Sets[i-1]
	m := sr.MessageSig
	if m == nil {
		return false
	}
	fail := func(reason string) bool {
		sr.AMS, sr.AMSReason = StatusFail, reason
		return false
	}
	key, reason := c.key(m.Algorithm, m.Selector, m.Domain)
	if key == nil {
		return fail(reason)
	}
	bh := c.bodies[bodyKey{m.BodyCanon, m.Algorithm.Hash(), m.Length}]
	if m.Length >= 0 {
		if m.Length > bh.lw.N {
			return fail(fmt.Sprintf("l=%d is longer than the body", m.Length))
		}
		sr.UnsignedBodyBytes = bh.lw.N - m.Length
	}
	if !bytes.Equal(bh.lw.Hash.Sum(nil), m.BodyHash) {
		return fail("body hash did not verify")
	}
	stripped, err := dkim.StripSignatureValue(c.sets[i-1].ams)
	if err != nil {
		return fail(err.Error())
	}
	digest := dkim.HeaderHash(m.Algorithm.Hash().New(), m.HeaderCanon, c.header.SelectFields(m.Headers), stripped)
	if err := dkim.VerifyHash(key, m.Algorithm, digest, m.Sig); err != nil {
		return fail("signature did not verify")
	}
	sr.AMS, sr.AMSReason = StatusPass, ""
	return true
}

// checkSeal verifies the AS of instance i over the sets 1..i (section
// 5.1.1), always with relaxed header canonicalization.
func (c *checker) checkSeal(i int) bool {
	sr := &c.res.Sets[i-1]
	s := sr.Seal
	fail := func(reason string) bool {
		sr.AS, sr.ASReason = StatusFail, reason
		return false
	}
	key, reason := c.key(s.Algorithm, s.Selector, s.Domain)
	if key == nil {
		return fail(reason)
	}
	stripped, err := dkim.StripSignatureValue(c.sets[i-1].as)
	if err != nil {
		return fail(err.Error())
	}
	digest := sealHash(s.Algorithm.Hash().New(), c.sets[:i], stripped)
	if err := dkim.VerifyHash(key, s.Algorithm, digest, s.Sig); err != nil {
		return fail("signature did not verify")
	}
	sr.AS, sr.ASReason = StatusPass, ""
	return true
}

// sealHash hashes sets in order, each AAR, AMS, AS, except that the last
// set's AS is replaced by sealField (the seal being made or checked, b=
// empty).
func sealHash(h hash.Hash, sets []arcSet, sealField []byte) []byte {
	fields := make([][]byte, 0, 3*len(sets))
	for i, s := range sets {
		fields = append(fields, s.aar, s.ams)
		if i < len(sets)-1 {
			fields = append(fields, s.as)
		}
	}
	return dkim.HeaderHash(h, dkim.Relaxed, fields, sealField)
}

// key fetches (once per selector and domain) and checks the key for alg.
// It returns nil and a reason when the key cannot verify.
func (c *checker) key(alg dkim.Algorithm, selector, domain string) (*dkim.Key, string) {
	switch alg {
	case dkim.RSASHA256, dkim.Ed25519SHA256:
	default:
		return nil, fmt.Sprintf("algorithm %q is not accepted", alg)
	}
	name := dkim.KeyName(selector, domain)
	if c.keys == nil {
		c.keys = map[string]keyResult{}
	}
	kr, ok := c.keys[name]
	if !ok {
		kr.key, kr.err = dkim.LookupKey(c.ctx, c.resolver, selector, domain)
		c.keys[name] = kr
	}
	k := kr.key
	switch {
	case kr.err != nil:
		if errors.Is(kr.err, dnsx.ErrTemporary) {
			c.res.Temporary = true
		}
		return nil, kr.err.Error()
	case k.Type != alg.KeyType():
		return nil, fmt.Sprintf("key type %s does not match a=%s", k.Type, alg)
	case k.Hashes != nil && !slices.Contains(k.Hashes, alg.HashName()):
		return nil, "key record h= does not allow " + alg.HashName()
	case k.Type == "rsa" && k.Bits < dkim.MinRSABits:
		return nil, fmt.Sprintf("RSA key of %d bits is too short (RFC 8301)", k.Bits)
	}
	return k, ""
}
