package phish

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// The kinds of protected domain, strongest first: a lookalike of our own
// domain is worse than one of a correspondent's or a brand's.
type kind int

const (
	kindOurs kind = iota
	kindLocal
	kindCorrespondent
	kindBrand
)

func (k kind) String() string {
	return [...]string{"our domain", "our users' domain", "a correspondent's domain", "a well-known domain"}[k]
}

// domain is a host name taken apart for comparison.
type domain struct {
	name   string   // Unicode form, lower-case, no final dot
	ascii  string   // the same with A-labels (RFC 5890)
	reg    string   // registrable domain (eTLD+1), Unicode
	label  string   // the registrable label: "example" of "www.example.co.uk"
	suffix string   // the public suffix: "co.uk"
	sub    []string // labels left of the registrable domain
	skel   string   // skeleton of label
	subSk  []string // skeletons of sub
	leftSk string   // skeleton of the labels left of reg, joined, with a final dot
	runes  []rune   // label as runes
	skelR  []rune   // skel as runes
}

// MaxDomain bounds the host names examined (RFC 1035 §2.3.4: 253 octets
// in text form; a Unicode form may be longer).
const MaxDomain = 1024

// mapping is UTS #46 mapping for lookup (lower case, NFKC, full-width
// dots) without the validity checks: a lookalike need not be valid.
var mapping = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(false), idna.CheckHyphens(false), idna.CheckJoiners(false))

// parseDomain takes a host name apart; ok is false for names without a
// registrable domain (a bare suffix, an address, empty).
func parseDomain(host string) (d domain, ok bool) {
	host = strings.TrimSuffix(strings.TrimSpace(host), ".")
	if host == "" || len(host) > MaxDomain || strings.HasPrefix(host, "[") {
		return d, false
	}
	uni, _ := mapping.ToUnicode(host) // partial result on error is what we compare
	uni = strings.ToLower(uni)
	ascii, err := idna.Punycode.ToASCII(uni)
	if err != nil {
		return d, false
	}
	reg, err := publicsuffix.EffectiveTLDPlusOne(ascii)
	if err != nil {
		return d, false
	}
	labels := strings.Split(uni, ".")
	nreg := strings.Count(reg, ".") + 1
	if nreg > len(labels) {
		return d, false
	}
	d.name = uni
	d.ascii = ascii
	d.sub = labels[:len(labels)-nreg]
	d.reg = strings.Join(labels[len(labels)-nreg:], ".")
	d.label = labels[len(labels)-nreg]
	d.suffix = strings.Join(labels[len(labels)-nreg+1:], ".")
	d.skel = skeleton(d.label)
	if len(d.sub) > 0 {
		d.subSk = make([]string, len(d.sub))
		for i, l := range d.sub {
			d.subSk[i] = skeleton(l)
		}
		d.leftSk = strings.Join(d.subSk, ".") + "."
	}
	d.runes = []rune(d.label)
	d.skelR = []rune(d.skel)
	return d, true
}

type protected struct {
	domain
	kind  kind
	regSk string // skeleton of reg
}

// index is a Known with its domains parsed.
type index struct {
	k          Known
	domains    []protected
	regs       map[string]bool // registrable domains of everything protected
	shorteners map[string]bool
	names      map[string][]personRef // people by the skeleton of their name
}

func newIndex(k Known) *index {
	ix := &index{k: k, regs: map[string]bool{}, shorteners: map[string]bool{}, names: buildNames(k)}
	add := func(host string, kd kind) {
		d, ok := parseDomain(host)
		if !ok || ix.regs[d.reg] {
			return
		}
		ix.regs[d.reg] = true
		ix.domains = append(ix.domains, protected{d, kd, skeleton(d.reg)})
	}
	for _, h := range k.OurDomains {
		add(h, kindOurs)
	}
	for _, p := range k.LocalPeople {
		add(domainOf(p.Addr), kindLocal)
	}
	for _, p := range k.Correspondents {
		add(domainOf(p.Addr), kindCorrespondent)
	}
	brands := k.Brands
	if brands == nil {
		brands = defaultBrands
	}
	for _, h := range brands {
		add(h, kindBrand)
	}
	shorteners := k.Shorteners
	if shorteners == nil {
		shorteners = defaultShorteners
	}
	for _, h := range shorteners {
		ix.shorteners[strings.ToLower(strings.TrimSuffix(h, "."))] = true
	}
	return ix
}

// phishingWords are the words added to a brand to make a phishing domain.
var phishingWords = []string{
	"secure", "security", "login", "logon", "signin", "sign", "verify", "verification",
	"account", "accounts", "update", "confirm", "support", "service", "services", "billing",
	"auth", "validate", "unlock", "alert", "online", "web", "help", "id", "customer",
	"wallet", "pay", "payment", "bank", "banking", "portal", "access", "recovery", "mail",
}

// LookalikeDomain reports whether domain imitates one of the protected
// domains of k (our domains, our users' and correspondents' domains,
// brands) without being it: the same UTS #39 skeleton (IDN homographs,
// "paypa1"), one edit away on the registrable label, or the protected
// name with words added ("example-secure.com", "example.org.login.test").
// It also flags labels that mix scripts. A domain that is, or is under,
// a protected registrable domain gives nothing.
func LookalikeDomain(domain string, k Known) []Finding {
	d, ok := parseDomain(domain)
	if !ok {
		return nil
	}
	return k.prepared().lookalike(d, d.shown())
}

// shown is the name for people: an IDN looks like what it imitates, so
// its A-label form is added.
func (d domain) shown() string {
	if d.ascii != d.name {
		return d.name + " (" + d.ascii + ")"
	}
	return d.name
}

// lookalike compares d with the protected domains; subject begins the
// reasons: the domain, or "a link goes to x, which".
func (ix *index) lookalike(d domain, subject string) []Finding {
	if ix.regs[d.reg] {
		return nil
	}
	var fs []Finding
	for i := range ix.domains {
		if f, ok := compare(d, &ix.domains[i], subject); ok {
			fs = append(fs, f)
		}
	}
	fs = append(fs, scriptFindings(d, subject)...)
	return Dedupe(fs)
}

// compare returns the strongest likeness of d to p.
func compare(d domain, p *protected, subject string) (Finding, bool) {
	if len(p.skelR) < 3 {
		return Finding{}, false
	}
	if d.skel == p.skel && d.label != p.label {
		return Finding{NameHomograph, scoreFor(p.kind, 6, 5),
			fmt.Sprintf("%s looks like %s (%s) but is a different domain", subject, p.reg, p.kind)}, true
	}
	minTypo := 5
	if p.kind == kindBrand {
		minTypo = 6
	}
	if len(p.runes) >= minTypo && (withinOneEdit(d.runes, p.runes) || withinOneEdit(d.skelR, p.skelR)) {
		return Finding{NameTypo, scoreFor(p.kind, 4, 3),
			fmt.Sprintf("%s is one letter away from %s (%s)", subject, p.reg, p.kind)}, true
	}
	if len(p.skelR) >= 4 {
		if word, ok := addedWords(d, p); ok {
			reason := fmt.Sprintf("%s dresses up %s (%s) with %q", subject, p.reg, p.kind, word)
			if word == d.reg {
				reason = fmt.Sprintf("%s puts %s (%s) in front of another domain, %s", subject, p.reg, p.kind, d.reg)
			}
			return Finding{NameAddedWords, scoreFor(p.kind, 4, 3), reason}, true
		}
	}
	return Finding{}, false
}

func scoreFor(k kind, ours, others float64) float64 {
	if k <= kindLocal {
		return ours
	}
	return others
}

// addedWords finds p's name inside d with something added: hyphenated or
// glued to the registrable label, or in the labels left of it. It returns
// what was added.
func addedWords(d domain, p *protected) (string, bool) {
	brand := p.kind == kindBrand
	// Every shape below has p's name inside: most domains leave here.
	inSub := len(d.sub) > 0 && strings.Contains(d.leftSk, p.skel)
	if !inSub && !strings.Contains(d.skel, p.skel) {
		return "", false
	}
	// "example.org.login.test": the whole protected domain on the left.
	if inSub {
		if strings.HasPrefix(d.leftSk, p.regSk+".") || strings.Contains(d.leftSk, "."+p.regSk+".") {
			return d.reg, true
		}
		// A label of its own is often a tenant of a service named after
		// its customer (example.sharepoint.com, example.zendesk.com): only
		// with a phishing word added ("example-login.evil.test") does it
		// count.
		for _, l := range d.subSk {
			if w, ok := hyphenated(l, p.skel, true); ok {
				return w, true
			}
		}
	}
	if w, ok := hyphenated(d.skel, p.skel, brand); ok {
		return w, true
	}
	// "examplesecure", "secureexample": glued to a phishing word. Not for
	// brands, whose names glue into honest names ("outlooksecure").
	if brand {
		return "", false
	}
	if rest, ok := strings.CutPrefix(d.skel, p.skel); ok && isPhishingWord(rest) {
		return rest, true
	}
	if rest, ok := strings.CutSuffix(d.skel, p.skel); ok && isPhishingWord(rest) {
		return rest, true
	}
	return "", false
}

// hyphenated finds name as one of the hyphen-separated words of label,
// returning the other words; with phishy, one of them must be a phishing
// word.
func hyphenated(label, name string, phishy bool) (string, bool) {
	if !strings.ContainsAny(label, "-_") {
		return "", false
	}
	tokens := strings.FieldsFunc(label, func(r rune) bool { return r == '-' || r == '_' })
	i := slices.Index(tokens, name)
	if i < 0 {
		return "", false
	}
	others := slices.Delete(tokens, i, i+1)
	if len(others) == 0 || phishy && !anyPhishingWord(others) {
		return "", false
	}
	return strings.Join(others, "-"), true
}

func anyPhishingWord(words []string) bool {
	for _, w := range words {
		if isPhishingWord(w) {
			return true
		}
	}
	return false
}

func isPhishingWord(w string) bool {
	return phishingSkeletons()[w]
}

var phishingSkeletons = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool, len(phishingWords))
	for _, w := range phishingWords {
		m[skeleton(w)] = true
	}
	return m
})

// scriptFindings flags labels that mix scripts, and a registrable label in
// another script made only of letters that look Latin ("аррӏе" in
// Cyrillic) under an ASCII suffix.
func scriptFindings(d domain, subject string) []Finding {
	var fs []Finding
	for _, l := range d.sub {
		if mixed, scripts := mixedScript(l); mixed {
			fs = append(fs, mixedFinding(l, scripts, subject))
			break
		}
	}
	mixed, scripts := mixedScript(d.label)
	switch {
	case mixed:
		fs = append(fs, mixedFinding(d.label, scripts, subject))
	case !isASCII(d.label) && !contains(scripts, "Latin") && isASCII(d.skel) && isASCII(d.suffix) &&
		utf8.RuneCountInString(d.label) >= 3:
		fs = append(fs, Finding{NameConfusableIDN, 1.5,
			fmt.Sprintf("%s is written in %s letters that read as %q", subject, strings.Join(scripts, " and "), d.skel)})
	}
	return fs
}

func mixedFinding(label string, scripts []string, subject string) Finding {
	return Finding{NameMixedScript, 2,
		fmt.Sprintf("%s mixes %s letters in %q", subject, strings.Join(scripts, " and "), label)}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
