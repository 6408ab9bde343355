package classify

import (
	"net/mail"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"

	"sealpost.dev/sealpost/internal/filter/content"
)

// Features is a message as the classifier sees it: the hashes of its
// tokens, sorted, each once.
type Features []uint64

// Bounds on what Extract reads, so that a huge message costs no more
// than a large one.
const (
	maxBodyWords  = 4000 // words of body text
	maxWordBytes  = 24   // longer words become a "long word" token
	maxHTMLScan   = 64 << 10
	osbWindow     = 4 // orthogonal sparse bigrams: pairs up to this far apart
	maxNameTokens = 20
)

// Extract returns the features of m: see the package doc for what they
// are.
func Extract(m *content.Message) Features {
	h := hasher{f: make(Features, 0, 2048)}
	tokens(m, h.add, h.addPair)
	return h.features()
}

// Tokens returns the readable tokens of m, the strings whose hashes are
// Extract's features (in the order met, repeats included).
func Tokens(m *content.Message) []string {
	var out []string
	tokens(m, tokenFunc(func(tok string) { out = append(out, tok) }),
		func(prefix, a, b string) { out = append(out, prefix+a+" "+b) })
	return out
}

// tokenFunc makes an emitFunc of a function taking whole tokens.
func tokenFunc(fn func(string)) emitFunc {
	return func(prefix, value string) { fn(prefix + value) }
}

// Hash returns the feature of a readable token.
func Hash(token string) uint64 {
	prefix := token
	if i := strings.IndexByte(token, ':'); i >= 0 {
		prefix = token[:i+1]
	}
	return group(prefix, fnvString(fnvOffset, token))
}

// Features come in groups, named by the top groupBits bits of their
// hash: each group is scaled to unit length on its own (see scales), so
// that a long text does not drown the few facts about the sender and
// the links.
const (
	groupBits  = 3
	groupShift = 64 - groupBits
	groups     = 1 << groupBits
)

// groupOf names the group of each token prefix: the body's words (and
// unknown prefixes), the subject's, and the facts about the message
// (sender, links, attachments, structure, conversation). Finer groups
// did no better in cross-validation.
var groupOf = map[string]uint64{
	"s:": 1, "s2:": 1, "sshape:": 1,
	"n:": 2, "fd:": 2, "ftld:": 2, "flocal:": 2, "rt:": 2, "rp:": 2, "rcpts:": 2,
	"h:": 2, "d:": 2, "tld:": 2, "l:": 2, "lcount:": 2, "lalign:": 2,
	"at:": 2, "ax:": 2, "asize:": 2,
	"cs:": 2, "mime:": 2, "fl:": 2, "hattr:": 2, "html:": 2,
	"conv:": 2, "conv:precedence ": 2,
	"bstat:": 2, "img:": 2, "to:": 2, "date:": 2, "mid:": 2,
}

// group puts hash h in the group of its token's prefix.
func group(prefix string, h uint64) uint64 {
	return h&(1<<groupShift-1) | groupOf[prefix]<<groupShift
}

// hasher collects hashed tokens.
type hasher struct{ f Features }

func (h *hasher) add(prefix, s string) {
	h.f = append(h.f, group(prefix, fnvString(fnvString(fnvOffset, prefix), s)))
}

// addPair adds the token prefix+a+" "+b without building it.
func (h *hasher) addPair(prefix, a, b string) {
	x := fnvString(fnvString(fnvOffset, prefix), a)
	x ^= ' '
	x *= fnvPrime
	h.f = append(h.f, group(prefix, fnvString(x, b)))
}

func (h *hasher) features() Features {
	slices.Sort(h.f)
	return slices.Compact(h.f)
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvString continues an FNV-1a hash over s: stable across processes
// and releases, as stored models need.
func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// emitFunc receives one token as a prefix naming its source and a value.
type emitFunc func(prefix, value string)

// pairFunc receives a token made of two words, prefix+a+" "+b; it lets
// the hasher skip building the string.
type pairFunc func(prefix, a, b string)

// tokens emits every token of m.
func tokens(m *content.Message, emit emitFunc, pair pairFunc) {
	rcpt := recipientWords(m)
	subjectTokens(m.Subject, rcpt, emit, pair)
	senderTokens(m, emit)
	bodyTokens(m.Text, rcpt, emit, pair)

	linkTokens(m.Links, emit)
	attachmentTokens(m.Attachments, emit)
	structureTokens(m, emit)
	conversationTokens(m, emit)
	textStatTokens(m, emit)
	originTokens(m, emit)
}

// originTokens tell whether the Date and Message-ID fields look like a
// mail program's: a Date that does not parse, or that lies more than an
// hour after the message arrived or days before, and a Message-ID that
// is missing, malformed or named after a machine (no dot in its domain)
// are the marks of bulk senders that write their own header, in any
// year; a Message-ID named after the From domain is what a sender's own
// server writes. The dates themselves are never tokens.
func originTokens(m *content.Message, emit emitFunc) {
	date := m.Get("Date")
	if date == "" {
		emit("date:", "missing")
	} else if t, err := mail.ParseDate(date); err != nil {
		emit("date:", "bad")
	} else if !m.Arrival.IsZero() {
		switch d := m.Arrival.Sub(t); {
		case d < -time.Hour:
			emit("date:", "future")
		case d > 96*time.Hour:
			emit("date:", "past")
		}
	}
	id := strings.TrimSpace(m.Get("Message-ID"))
	local, domain, ok := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">"), "@")
	switch {
	case id == "":
		emit("mid:", "missing")
	case !ok || local == "" || !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, ">"):
		emit("mid:", "malformed")
	case !strings.Contains(domain, "."):
		emit("mid:", "no dot")
	case len(m.From) > 0:
		_, from, _ := strings.Cut(m.From[0].Addr, "@")
		if registrable(strings.ToLower(domain)) == registrable(strings.ToLower(from)) {
			emit("mid:", "from domain")
		}
	}
}

// conversationTokens tell a reply in a conversation or mail from a list
// apart from a message out of the blue: which of the fields that say so
// are present (never their values, which would date or place the
// message), and a "Re:" subject that replies to nothing.
func conversationTokens(m *content.Message, emit emitFunc) {
	reply := m.Get("In-Reply-To") != "" || m.Get("References") != ""
	if reply {
		emit("conv:", "reply")
	}
	subj := strings.ToLower(strings.TrimSpace(m.Subject))
	if !reply && (strings.HasPrefix(subj, "re:") || strings.HasPrefix(subj, "fw:") || strings.HasPrefix(subj, "fwd:")) {
		emit("conv:", "unthreaded re")
	}
	for _, name := range []string{"List-Id", "List-Unsubscribe", "List-Post"} {
		if m.Get(name) != "" {
			emit("conv:", strings.ToLower(name))
		}
	}
	if p := strings.ToLower(m.Get("Precedence")); p != "" {
		emit("conv:precedence ", p)
	}
}

// recipientWords are the local parts and domains of the recipients:
// a message that names its recipient ("Dear jsmith") says something,
// but the name itself only dates or places the corpus.
func recipientWords(m *content.Message) map[string]bool {
	w := map[string]bool{}
	for _, list := range [][]content.Address{m.To, m.Cc} {
		for i, a := range list {
			if i >= 10 {
				break
			}
			local, domain, ok := strings.Cut(strings.ToLower(a.Addr), "@")
			if ok && len(local) > 2 {
				w[local] = true
			}
			if ok && domain != "" {
				w[domain] = true
				if label, _, ok := strings.Cut(domain, "."); ok {
					w[label] = true
				}
			}
		}
	}
	return w
}

func subjectTokens(subject string, rcpt map[string]bool, emit emitFunc, pair pairFunc) {
	if subject == "" {
		emit("s:", "(none)")
		return
	}
	prev := ""
	words(subject, 200, func(w string) {
		w = normalizeWord(w, rcpt)
		emit("s:", w)

		if prev != "" {
			pair("s2:", prev, w)
		}
		prev = w
	})
	emit("sshape:", shape(subject))
}

// shape sums up how text is written: mostly capitals, with "!", with
// "$".
func shape(s string) string {
	letters, upper := 0, 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			letters++
			if unicode.IsUpper(r) {
				upper++
			}
		}
	}
	var b strings.Builder
	switch {
	case letters == 0:
		b.WriteString("noletters")
	case upper*10 > letters*7:
		b.WriteString("caps")
	default:
		b.WriteString("mixed")
	}
	if strings.Contains(s, "!") {
		b.WriteString("!")
	}
	if strings.Contains(s, "$") {
		b.WriteString("$")
	}
	return b.String()
}

func senderTokens(m *content.Message, emit emitFunc) {
	fromDomain := ""
	for i, a := range m.From {
		if i >= 3 {
			break
		}
		n := 0
		words(a.Name, maxNameTokens, func(w string) {
			emit("n:", normalizeWord(w, nil))
			n++
		})
		if n == 0 {
			emit("n:", "(none)")
		}
		if strings.Contains(a.Name, "@") {
			emit("n:", "(address in name)")
		}
		_, domain, _ := strings.Cut(a.Addr, "@")
		if i == 0 {
			fromDomain = registrable(domain)
			emit("fd:", fromDomain)
			emit("ftld:", suffix(domain))
			local, _, _ := strings.Cut(a.Addr, "@")
			emit("flocal:", wordShape(strings.ToLower(local)))
			if a.Name != "" && strings.Contains(strings.ToLower(strings.ReplaceAll(a.Name, " ", "")), strings.ToLower(local)) {
				emit("n:", "(local part in name)")
			}
		}
	}
	if len(m.From) == 0 {
		emit("fd:", "(none)")
	}
	alignmentTokens(m, fromDomain, emit)
	for i, a := range m.ReplyTo {
		if i >= 3 {
			break
		}
		_, domain, _ := strings.Cut(a.Addr, "@")
		if registrable(domain) != fromDomain {
			emit("rt:", "other domain")
		} else {
			emit("rt:", "same domain")
		}
	}
	switch n := len(m.To) + len(m.Cc); {
	case n == 0:
		emit("rcpts:", "none")
	case n == 1:
		emit("rcpts:", "one")
	case n < 10:
		emit("rcpts:", "few")
	default:
		emit("rcpts:", "many")
	}
}

// alignmentTokens compare the From domain with the Return-Path's and
// with the links': a sender's own mail bounces to and links to its own
// domain (or its provider's) more often than not, spam rarely does.
func alignmentTokens(m *content.Message, fromDomain string, emit emitFunc) {
	if m.ReturnPath == "" {
		emit("rp:", "none")
	} else if _, d, _ := strings.Cut(m.ReturnPath, "@"); registrable(d) == fromDomain {
		emit("rp:", "aligned")
	} else {
		emit("rp:", "other")
	}
	own, other := 0, 0
	for i, l := range m.Links {
		if i >= 200 {
			break
		}
		if l.Host == "" {
			continue
		}
		if registrable(l.Host) == fromDomain {
			own++
		} else {
			other++
		}
	}
	switch {
	case own+other == 0:
	case other == 0:
		emit("lalign:", "all own")
	case own == 0:
		emit("lalign:", "none own")
	default:
		emit("lalign:", "some own")
	}
}

// bodyTokens emits the words of the body and their orthogonal sparse
// bigrams: each word paired with each of the next osbWindow words, the
// distance part of the token.
func bodyTokens(text string, rcpt map[string]bool, emit emitFunc, pair pairFunc) {
	var window [osbWindow]string
	n := 0
	words(text, maxBodyWords, func(w string) {
		w = normalizeWord(w, rcpt)
		emit("b:", w)

		for d := 1; d <= bodyPairs && d <= n; d++ {
			prev := window[(n-d)%osbWindow]
			pair(osbPrefix[d], prev, w)
		}
		window[n%osbWindow] = w
		n++
	})
	switch {
	case n == 0:
		emit("blen:", "0")
	default:
		emit("blen:", strconv.Itoa(log2(n)))
	}
}

var osbPrefix = [...]string{"", "o1:", "o2:", "o3:", "o4:"}

// bodyPairs is how far apart body words are paired, at most osbWindow;
// 0, no pairs, did best in nested cross-validation (see the package
// doc). A variable so that cross-validation can compare choices.
var bodyPairs = 0

func log2(n int) int {
	l := 0
	for n > 1 {
		n >>= 1
		l++
	}
	return l
}

// words calls fn for up to max words of s: runs of letters and digits,
// with inner apostrophes, hyphens, dots and "$" kept, lower-cased.
func words(s string, max int, fn func(string)) {
	n := 0
	start := -1
	for i := 0; i <= len(s) && n < max; {
		r, size := utf8.RuneError, 1
		if i < len(s) {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		inWord := i < len(s) && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '$' ||
			(start >= 0 && (r == '\'' || r == '-' || r == '.' || r == '_' || r == ',') && i+size < len(s) && isWordByte(s[i+size])))
		switch {
		case inWord && start < 0:
			start = i
		case !inWord && start >= 0:
			fn(strings.ToLower(s[start:i]))
			n++
			start = -1
		}
		i += size
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// normalizeWord maps a word to its token: numbers and words with digits
// keep only their shape (a year or a version dates a message; the shape
// "$9,999" or "9am" still says something), very long words their
// length, and the recipient's own names become "(recipient)".
func normalizeWord(w string, rcpt map[string]bool) string {
	if rcpt[w] {
		return "(recipient)"
	}
	if len(w) > maxWordBytes {
		return "(long)"
	}
	digits := false
	for i := 0; i < len(w); i++ {
		if w[i] >= '0' && w[i] <= '9' {
			digits = true
			break
		}
	}
	if !digits {
		return w
	}
	return wordShape(w)
}

// wordShape replaces digits with "9" and collapses runs of them.
func wordShape(w string) string {
	var b strings.Builder
	last := rune(0)
	for _, r := range w {
		if r >= '0' && r <= '9' {
			r = '9'
		}
		if r == '9' && last == '9' {
			continue
		}
		b.WriteRune(r)
		last = r
	}
	return b.String()
}

func linkTokens(links []content.Link, emit emitFunc) {
	hosts := map[string]bool{}
	for i, l := range links {
		if i >= 200 {
			break
		}
		if l.Form {
			emit("l:", "form")
		}
		if l.Host == "" {
			if strings.HasPrefix(strings.ToLower(l.Href), "mailto:") {
				emit("l:", "mailto")
			}
			continue
		}
		if hosts[l.Host] {
			continue
		}
		hosts[l.Host] = true
		if _, err := netip.ParseAddr(l.Host); err == nil || isNumericHost(l.Host) {
			emit("l:", "ip")
			continue
		}
		reg := registrable(l.Host)
		emit("h:", l.Host)
		emit("d:", reg)
		emit("tld:", suffix(l.Host))
		if l.HTML && textNamesOtherDomain(l.Text, reg) {
			emit("l:", "text shows another domain")
		}
		if strings.Contains(hrefAuthority(l.Href), "@") {
			emit("l:", "userinfo")
		}
	}
	switch n := len(hosts); {
	case n == 0:
		emit("lcount:", "0")
	default:
		emit("lcount:", strconv.Itoa(log2(n)+1))
	}
}

// isNumericHost catches hosts written as one number or hex (browsers
// accept http://3232235777/).
func isNumericHost(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'x' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return strings.ContainsAny(h, "0123456789") && !strings.ContainsAny(h[len(h)-1:], "abcdefx")
}

// textNamesOtherDomain reports whether an anchor's visible text looks
// like a URL or domain of another registrable domain than its href.
func textNamesOtherDomain(text, hrefDomain string) bool {
	t := strings.ToLower(strings.TrimSpace(text))
	if t == "" || strings.ContainsAny(t, " \t") {
		return false
	}
	t = strings.TrimPrefix(strings.TrimPrefix(t, "http://"), "https://")
	host, _, _ := strings.Cut(t, "/")
	if !strings.Contains(host, ".") {
		return false
	}
	reg := registrable(host)
	return reg != "" && reg != hrefDomain && strings.Contains(reg, ".")
}

func hrefAuthority(href string) string {
	_, rest, ok := strings.Cut(href, "//")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// registrable returns the registrable domain (eTLD+1) of a host, or the
// host when it has none.
func registrable(host string) string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" {
		return "(none)"
	}
	if reg, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return reg
	}
	return host
}

func suffix(host string) string {
	s, _ := publicsuffix.PublicSuffix(strings.TrimSuffix(strings.ToLower(host), "."))
	return s
}

func attachmentTokens(atts []content.Attachment, emit emitFunc) {
	for i, a := range atts {
		if i >= 20 {
			break
		}
		emit("at:", a.Type)
		if a.Name != "" {
			ext := strings.ToLower(path.Ext(a.Name))
			emit("ax:", ext)
			base := strings.TrimSuffix(strings.ToLower(a.Name), ext)
			if inner := path.Ext(base); inner != "" && len(inner) <= 5 {
				emit("ax:", "double "+inner+ext)
			}
		}
		if a.Inline {
			emit("at:", "inline")
		}
		emit("asize:", strconv.Itoa(log2(a.Size+1)/2))
	}
	if len(atts) == 0 {
		emit("at:", "(none)")
	}
}

// structureTokens describe how the message is built: its charset, a
// missing MIME-Version, the flaws met, hidden HTML text. Which elements
// the HTML uses and the top-level type are left out on purpose: the ham
// of the corpora is mostly plain text of 2002 mailing lists, today's is
// mostly HTML, and a filter that learnt "HTML is spam" would fail on it.
func structureTokens(m *content.Message, emit emitFunc) {
	ct := strings.ToLower(m.Get("Content-Type"))
	if _, params, ok := strings.Cut(ct, ";"); ok {
		if _, cs, ok := strings.Cut(params, "charset="); ok {
			cs, _, _ = strings.Cut(strings.Trim(cs, `"' `), ";")
			emit("cs:", strings.Trim(cs, `"' `))
		}
	}
	if m.Get("MIME-Version") == "" {
		emit("mime:", "no version")
	}
	for _, f := range m.Flaws {
		emit("fl:", f)
	}
	if m.HTML != "" {
		hiddenTokens(m.HTML, emit)
		if strings.TrimSpace(m.Text) == "" {
			emit("html:", "no text")
		}
	}
}

// hiddenTokens emits the tricks of HTML that hides or shrinks text.
func hiddenTokens(h string, emit emitFunc) {
	if len(h) > maxHTMLScan {
		h = h[:maxHTMLScan]
	}
	lower := strings.ToLower(h)
	for _, attr := range []string{"display:none", "visibility:hidden", "font-size:1px", "font-size:0", "size=\"1\"", "color=\"#ffffff\""} {
		if strings.Contains(lower, attr) {
			emit("hattr:", attr)
		}
	}
}

// textStatTokens sum up how the body is written and sent, in buckets:
// the share of capitals, runs of "!", money and percentages, images
// against words, HTML sent without a plain-text alternative or saying
// much more than it, and an undisclosed or missing To. These are the
// habits of bulk mail whatever its year or language: none of them names
// a mailer, a server or a date.
func textStatTokens(m *content.Message, emit emitFunc) {
	text := m.Text
	if len(text) > maxHTMLScan {
		text = text[:maxHTMLScan]
	}
	letters, upper, bang, money, percent := 0, 0, 0, 0, 0
	prevDigit := false
	for _, r := range text {
		switch {
		case r >= 'a' && r <= 'z':
			letters++
		case r >= 'A' && r <= 'Z':
			letters++
			upper++
		case r == '!':
			bang++
		case r == '$' || r == '€' || r == '£':
			money++
		case r == '%' && prevDigit:
			percent++
		}
		prevDigit = r >= '0' && r <= '9'
	}
	if letters > 0 {
		emit("bstat:", "caps "+strconv.Itoa(min(upper*20/letters, 6)))
	}
	emit("bstat:", "bang "+strconv.Itoa(log2(bang+1)))
	emit("bstat:", "money "+strconv.Itoa(log2(money+1)))
	emit("bstat:", "percent "+strconv.Itoa(log2(percent+1)))
	if m.HTML != "" {
		html := m.HTML
		if len(html) > maxHTMLScan {
			html = html[:maxHTMLScan]
		}
		imgs := strings.Count(strings.ToLower(html), "<img")
		emit("img:", strconv.Itoa(log2(imgs+1)))
		htmlText := len(m.Text) - m.PlainText
		switch {
		case m.PlainText == 0:
			emit("bstat:", "html only")
		case htmlText > 2*m.PlainText+200:
			emit("bstat:", "html says more")
		}
		if imgs > 0 && len(strings.Fields(text)) < 40*imgs {
			emit("img:", "images over words")
		}
	}
	to := m.Get("To")
	switch {
	case to == "":
		emit("to:", "missing")
	case len(m.To) == 0 || strings.Contains(strings.ToLower(to), "undisclosed"):
		emit("to:", "undisclosed")
	}
	subj := m.Subject
	if subj != "" {
		if subj != strings.TrimRight(subj, " \t") {
			emit("sshape:", "trailing space")
		}
		if strings.Count(subj, "!") > 1 {
			emit("sshape:", "many !")
		}
		if i := strings.LastIndexAny(subj, " \t"); i > 0 && i < len(subj)-1 && len(strings.TrimLeft(subj[i:], " \t")) >= 4 && isDigits(strings.TrimLeft(subj[i:], " \t")) && strings.Contains(subj[:i], "  ") {
			emit("sshape:", "spaced number")
		}
	}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
