package dkim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
)

// Status is a DKIM result in the words of RFC 8601 section 2.7.1.
type Status string

// The results. A message without any DKIM-Signature is StatusNone; Verify
// then returns no Result at all.
const (
	StatusNone      Status = "none"
	StatusPass      Status = "pass"
	StatusFail      Status = "fail"
	StatusNeutral   Status = "neutral"
	StatusPolicy    Status = "policy"
	StatusTempError Status = "temperror"
	StatusPermError Status = "permerror"
)

// DefaultMaxSignatures is how many DKIM-Signature fields Verify checks
// when Verifier.MaxSignatures is 0. Each costs a DNS lookup and a public key
// operation, so a message cannot make us do unbounded work.
const DefaultMaxSignatures = 10

// Result is the outcome for one DKIM-Signature field.
type Result struct {
	Status Status
	// Reason says why, in a few words ("body hash did not verify").
	Reason string
	// Signature is the parsed field, nil when it did not parse.
	Signature *Signature
	// The signature's d=, s=, i= and a=, as far as they could be read,
	// for Authentication-Results (header.d, header.s, header.i).
	Domain, Selector, Identity string
	Algorithm                  Algorithm
	// HeaderB is the first 8 characters of b=, to tell apart several
	// signatures of one domain (RFC 6008, header.b).
	HeaderB string
	// KeyBits is the size of the key used, once it was fetched.
	KeyBits int
	// Testing is set when the key record says t=y: the result must not
	// make the message fare worse than an unsigned one.
	Testing bool
	// BodyLength is l=, or -1. When it is set, only that many bytes of
	// the canonical body are covered: UnsignedBodyBytes more follow, which
	// anyone could have added. Callers should not trust that content (or
	// treat a pass with UnsignedBodyBytes > 0 as weaker).
	BodyLength        int64
	UnsignedBodyBytes int64
}

// Verifier verifies DKIM signatures. The zero value is not usable: Resolver
// is required.
type Verifier struct {
	Resolver dnsx.Resolver
	// MaxSignatures bounds the signatures checked; further ones get
	// StatusNeutral without a lookup. 0 means DefaultMaxSignatures.
	MaxSignatures int
	// MaxHeaderSize bounds the header section; 0 means MaxHeaderSize.
	MaxHeaderSize int
	// Now returns the time for x= (expiry); nil means time.Now.
	Now func() time.Time
}

// Verify reads a message from r and checks each of its DKIM-Signature
// fields (RFC 6376 section 6), top to bottom. The header is held in memory
// (bounded), the body streams through the body hashes once. The error is
// only for reading the message (or a header section too large); DKIM
// outcomes, DNS failures included, are in the results.
func (v *Verifier) Verify(ctx context.Context, r io.Reader) ([]Result, error) {
	m := getMsgReader(r)
	defer m.release()
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = m.br
	}
	h, err := m.readHeader(br, v.MaxHeaderSize)
	if err != nil {
		return nil, err
	}
	return v.VerifyHeader(ctx, h, br)
}

// pending is a signature that passed the checks before the body.
type pending struct {
	field   []byte
	bSpan   span // of b= in the field's value
	sig     *Signature
	result  *Result
	body    *bodyHasher
	keyName string // the key's DNS name, when parsing made it; else ""
	key     int    // index of its key lookup
}

// VerifyHeader is Verify for a message whose header was already read; body
// is the rest of the message.
func (v *Verifier) VerifyHeader(ctx context.Context, h Header, body io.Reader) ([]Result, error) {
	return v.VerifyHeaderIn(ctx, h, body, nil)
}

// SignatureRoom is room for the result and the parsed signature of a
// message with one DKIM-Signature, the usual case, some 1,800 bytes. A
// caller that makes an allocation of its own for each message can hold
// one in it and give it to VerifyHeaderIn, which then makes none for the
// signature. The results refer to it: one room serves one message.
type SignatureRoom struct {
	one oneSignature
}

// VerifyHeaderIn is VerifyHeader making the result and the signature of a
// message with one DKIM-Signature in room, when room is not nil.
func (v *Verifier) VerifyHeaderIn(ctx context.Context, h Header, body io.Reader, room *SignatureRoom) ([]Result, error) {
	if v.Resolver == nil {
		return nil, errors.New("dkim: Verifier without a Resolver")
	}
	limit := v.MaxSignatures
	if limit <= 0 {
		limit = DefaultMaxSignatures
	}
	var results []Result
	// Where the signatures are, found once.
	var sigAtArr [4]int
	sigAt := sigAtArr[:0]
	for j, f := range h {
		if isSignatureField(f.Name) {
			sigAt = append(sigAt, j)
		}
	}
	n := len(sigAt)
	// The signature blocks: the one of a message with one signature, the
	// usual, is made with its result (oneSignature).
	var blocks []sigBlock
	switch {
	case n == 1:
		if room == nil {
			room = new(SignatureRoom)
		}
		one := &room.one
		results, blocks = one.result[:0:1], one.sig[:]
	case n > 0:
		// Made at their final size: pointers into them stay valid.
		results = make([]Result, 0, n)
		blocks = make([]sigBlock, min(n, limit))
	}
	// Most messages have one or two signatures and one body hash: these
	// stay on the stack.
	var todoArr [4]pending
	todo := todoArr[:0]
	var hashersArr [2]*bodyHasher
	hashers := bodyHashers(hashersArr[:0])
	for _, j := range sigAt {
		f := h[j]
		results = append(results, Result{BodyLength: -1})
		res := &results[len(results)-1]
		if len(results) > limit {
			res.Status, res.Reason = StatusNeutral, fmt.Sprintf("not checked: more than %d signatures", limit)
			continue
		}
		sig, bSpan := v.precheck(f, res, &blocks[len(results)-1])
		if sig == nil {
			continue
		}
		var bh *bodyHasher
		hashers, bh = hashers.add(bodyHashKey{sig.BodyCanon, sig.Algorithm.Hash(), sig.Length})
		todo = append(todo, pending{field: f.Raw, bSpan: bSpan, sig: sig, result: res, body: bh, keyName: blocks[len(results)-1].keyName})
	}
	// Several keys are looked up in parallel, while the body is hashed, so
	// their DNS latencies overlap.
	var lookupsArr [2]keyLookup
	lookups, stop := v.lookupKeys(ctx, todo, lookupsArr[:0])
	defer stop()
	err := hashBodies(body, hashers)
	for i := range todo {
		if err != nil {
			break
		}
		p := &todo[i]
		k := &lookups[p.key]
		if k.done != nil {
			<-k.done
		}
		v.check(h, p, k.key, k.err)
	}
	hashers.release()
	if err != nil {
		return nil, err
	}
	return results, nil
}

// oneSignature is the result and the signature of a message with one
// DKIM-Signature, made in one allocation.
type oneSignature struct {
	result [1]Result
	sig    [1]sigBlock
}

// isSignatureField reports whether a field is a DKIM-Signature, as
// strings.EqualFold tells. A name shorter than "DKIM-Signature" cannot be
// one (each of its letters that folds to an ASCII one is at least one
// byte), and most are: they are told so without the call.
func isSignatureField(name string) bool {
	return len(name) >= len("DKIM-Signature") && strings.EqualFold(name, "DKIM-Signature")
}

// keyLookup is one key lookup, running in the background when done is not
// nil.
type keyLookup struct {
	selector, domain string
	name             string // KeyName(selector, domain)
	done             chan struct{}
	key              *Key
	err              error
}

// lookupKeys appends to lookups one key lookup per distinct key name of
// the signatures in todo, sets the index of each signature's, and returns
// them and the function that ends those still running. A single key, the
// common case, is looked up at once: a goroutine would cost more than the
// lookup when the answer is cached, and when it is not, hashing the body
// overlaps with little of the wait. Several are looked up in parallel.
//
// The signatures name their lookups by index, not by pointer, so that the
// caller's lookups can stay on its stack: a pointer stored in todo would
// move them to the heap.
func (v *Verifier) lookupKeys(ctx context.Context, todo []pending, lookups []keyLookup) ([]keyLookup, func()) {
	for i := range todo {
		p := &todo[i]
		p.key = -1
		for j := range lookups {
			if k := &lookups[j]; k.selector == p.sig.Selector && sameDomain(k.domain, p.sig.Domain) {
				p.key = j
				break
			}
		}
		if p.key < 0 {
			p.key = len(lookups)
			name := p.keyName
			if name == "" {
				name = KeyName(p.sig.Selector, p.sig.Domain)
			}
			lookups = append(lookups, keyLookup{selector: p.sig.Selector, domain: p.sig.Domain, name: name})
		}
	}
	switch len(lookups) {
	case 0:
		return lookups, func() {}
	case 1:
		k := &lookups[0]
		k.key, k.err = lookupKeyNamed(ctx, v.Resolver, k.name)
		return lookups, func() {}
	}
	return lookupParallel(ctx, v.Resolver, lookups)
}

// lookupParallel starts the lookups, each in a goroutine, on a copy of
// them that it returns. (It is apart from lookupKeys so that the one-key
// case moves neither ctx nor the lookups to the heap.)
func lookupParallel(ctx context.Context, r dnsx.Resolver, lookups []keyLookup) ([]keyLookup, func()) {
	ctx, stop := context.WithCancel(ctx)
	running := slices.Clone(lookups)
	for i := range running {
		k := &running[i]
		k.done = make(chan struct{})
		go func() {
			defer close(k.done)
			k.key, k.err = lookupKeyNamed(ctx, r, k.name)
		}()
	}
	return running, stop
}

// sameDomain reports whether two d= values, lower case, name the same
// domain, as KeyName writes it.
func sameDomain(a, b string) bool {
	return strings.TrimSuffix(a, ".") == strings.TrimSuffix(b, ".")
}

// precheck parses the field, into blk, and applies the checks that need
// neither DNS nor the body. It returns nil when res already holds the final status,
// and where b='s value is written in the field's value.
func (v *Verifier) precheck(f Field, res *Result, blk *sigBlock) (*Signature, span) {
	value := f.Value()
	sig, bSpan, err := parseSignature(value, blk)
	if err != nil {
		res.fillFromTags(value)
		res.Status, res.Reason = StatusPermError, err.Error()
		return nil, span{}
	}
	res.Signature = sig
	res.HeaderB = headerB(sig.Tags.Get("b"))
	res.Domain, res.Selector, res.Identity = sig.Domain, sig.Selector, sig.Identity
	res.Algorithm, res.BodyLength = sig.Algorithm, sig.Length
	switch {
	case sig.Algorithm == RSASHA1:
		res.Status, res.Reason = StatusPolicy, "rsa-sha1 is not accepted (RFC 8301)"
		return nil, span{}
	case sig.Algorithm.KeyType() == "":
		res.Status, res.Reason = StatusPermError, "unknown algorithm "+string(sig.Algorithm)
		return nil, span{}
	case !sig.Expiration.IsZero() && v.now().After(sig.Expiration):
		res.Status, res.Reason = StatusFail, "signature expired"
		return nil, span{}
	}
	return sig, bSpan
}

// fillFromTags records d=, s=, i=, a= and b= as written, so that even a
// signature that does not parse can be reported.
func (res *Result) fillFromTags(value string) {
	tags, err := ParseTagList(value)
	if err != nil {
		return
	}
	res.Domain, res.Selector, res.Identity = tags.Get("d"), tags.Get("s"), tags.Get("i")
	res.Algorithm = Algorithm(tags.Get("a"))
	res.HeaderB = headerB(tags.Get("b"))
}

// headerB returns the first 8 characters of a b= value (RFC 6008),
// folding whitespace left out. Only when a fold comes within them is a new
// string made.
func headerB(b string) string {
	head := b[:min(len(b), 8)]
	if !strings.ContainsAny(head, " \t\r\n") {
		return head
	}
	var out [8]byte
	n := 0
	for i := 0; i < len(b) && n < len(out); i++ {
		if !isFWS(b[i]) {
			out[n] = b[i]
			n++
		}
	}
	return string(out[:n])
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// check verifies the body hash and the signature with the key looked up
// (or the error of the lookup).
func (v *Verifier) check(h Header, p *pending, key *Key, err error) {
	res, sig := p.result, p.sig
	if err != nil {
		res.Status, res.Reason = keyErrorStatus(err), err.Error()
		return
	}
	res.KeyBits, res.Testing = key.Bits, key.Testing
	if status, reason := keyFits(key, sig); status != "" {
		res.Status, res.Reason = status, reason
		return
	}
	if sig.Length >= 0 {
		total := p.body.count.N
		if sig.Length > total {
			res.Status, res.Reason = StatusFail, fmt.Sprintf("l=%d is longer than the body (%d bytes)", sig.Length, total)
			return
		}
		res.UnsignedBodyBytes = total - sig.Length
	}
	if !bytes.Equal(p.body.digest, sig.BodyHash) {
		res.Status, res.Reason = StatusFail, "body hash did not verify"
		return
	}
	var digestArr [64]byte
	bh := p.body
	bh.field = appendStrippedSpan(bh.field[:0], p.field, p.bSpan)
	digest, err := signedHeaderDigest(digestArr[:0], &bh.header, sig.Algorithm, sig.HeaderCanon, h, sig.Headers, bh.field, false)
	if err != nil {
		res.Status, res.Reason = StatusPermError, err.Error()
		return
	}
	if err := VerifyHash(key, sig.Algorithm, digest, sig.Sig); err != nil {
		res.Status, res.Reason = StatusFail, "signature did not verify"
		return
	}
	res.Status, res.Reason = StatusPass, "signature verified"
	if sig.Length >= 0 {
		res.Reason = fmt.Sprintf("signature verified for the first %d body bytes (l=), %d unsigned bytes follow", sig.Length, res.UnsignedBodyBytes)
	}
}

func keyErrorStatus(err error) Status {
	if errors.Is(err, dnsx.ErrTemporary) {
		return StatusTempError
	}
	return StatusPermError
}

// keyFits applies the key record's restrictions and RFC 8301 to sig.
func keyFits(key *Key, sig *Signature) (Status, string) {
	if err := key.CheckAlgorithm(sig.Algorithm); err != nil {
		if errors.Is(err, ErrKeyTooShort) {
			return StatusPolicy, err.Error()
		}
		return StatusPermError, err.Error()
	}
	if key.Strict && !strings.EqualFold(identityDomain(sig.Identity), sig.Domain) {
		return StatusPermError, "key record t=s: i= must be in d= exactly"
	}
	return "", ""
}

func identityDomain(i string) string {
	at := strings.LastIndexByte(i, '@')
	return i[at+1:]
}

// String formats a result in the manner of an Authentication-Results
// method: "pass header.d=example.com header.s=sel (reason)".
func (r Result) String() string {
	var b strings.Builder
	b.WriteString(string(r.Status))
	if r.Domain != "" {
		fmt.Fprintf(&b, " header.d=%s", r.Domain)
	}
	if r.Selector != "" {
		fmt.Fprintf(&b, " header.s=%s", r.Selector)
	}
	if r.Identity != "" {
		fmt.Fprintf(&b, " header.i=%s", r.Identity)
	}
	if r.HeaderB != "" {
		fmt.Fprintf(&b, " header.b=%s", r.HeaderB)
	}
	if r.Reason != "" {
		fmt.Fprintf(&b, " (%s)", r.Reason)
	}
	return b.String()
}
