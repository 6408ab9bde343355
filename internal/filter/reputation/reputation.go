// Package reputation is the spam filter's memory of senders: it records
// what the filter decided and what people reported about the mail of each
// sender domain, sending network and link domain, and turns those counts
// into named scores with reasons for the next message.
//
// What is counted, per key, in store.Reputation (shared by all accounts):
//   - the sender domain: the domain that authenticated aligned with the
//     From header (DMARC, RFC 7489 section 3.1), as the caller found it;
//     an unauthenticated From domain is never counted, or anyone could
//     spoil a domain's name by forging it;
//   - the network: the connecting address's /24 (IPv4) or /64 (IPv6), the
//     blocks in which addresses usually change hands together;
//   - the link domains: the registrable domain (public suffix plus one
//     label) of each link, and when it was first seen, since a domain
//     registered yesterday is a phishing sign.
//
// The counts decay (store.ReputationHalfLife, 30 days), so reputation
// follows a sender that reformed or a block that was reassigned; keys not
// seen for a long time are removed by Prune.
//
// People's reports (moving mail into or out of Junk, reporting phishing)
// weigh UserWeight times the filter's own verdicts. The filter must not
// teach itself: a verdict that reputation helped to make would be
// recorded as more bad reputation, and so on without end. Three rules
// stop that:
//   - the part of a score that verdicts make is capped at VerdictCap, set
//     well below any threshold, so reputation from verdicts alone never
//     sends mail to Junk: other checks must have agreed before a verdict
//     counts against the sender again; only people's reports go beyond;
//   - people's reports outweigh verdicts (UserWeight), and a correction
//     (moved out of Junk) counts as ham against the earlier verdicts;
//   - the counts decay, so a run of mistakes fades.
//
// Correspondents: people an account wrote to (store.Outbound's
// correspondents with LastWrote) are trusted, but only when the message's
// From is authenticated (its domain is the aligned sender domain): a
// forged From of a friend is the phishing this must not help.
//
// Left out: per-account reputation (the counts are global; the
// per-account part is the classifier's personal model and the
// correspondents), reputation of the envelope sender or HELO name, and
// subnet sizes other than /24 and /64.
package reputation

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"sealpost.dev/sealpost/internal/store"
)

// The classes and sources of observations.
const (
	Ham   = "ham"
	Spam  = "spam"
	Phish = "phish"

	FromVerdict = "verdict" // the filter's own decision
	FromUser    = "user"    // a person's report
)

// MaxLinkDomains bounds the link domains one observation or query counts.
const MaxLinkDomains = 50

// Observation is one message's sender, network and link domains, with
// what it was found to be.
type Observation struct {
	// SenderDomain is the domain that authenticated aligned with From;
	// "" when none did.
	SenderDomain string
	// IP is the address the message came from; the zero Addr when
	// unknown (local submission).
	IP          netip.Addr
	LinkDomains []string // hosts of the message's links
	Class       string   // Ham, Spam or Phish
	Source      string   // FromVerdict or FromUser
	// Undo takes back an earlier observation of the same class and
	// source (a person moving a message back out of Junk).
	Undo bool
}

// Query is what Assess is asked about one incoming message.
type Query struct {
	AccountID    int64  // the recipient; 0 skips the correspondents
	SenderDomain string // as in Observation
	IP           netip.Addr
	LinkDomains  []string
	FromAddress  string // the From header's address
}

// Finding is one named score with its reason for people. Positive scores
// point to spam, negative ones to ham. (The same shape as
// internal/filter/phish's findings.)
type Finding struct {
	Name   string
	Score  float64
	Reason string
}

// Assessment is what reputation says of a message.
type Assessment struct {
	Findings []Finding
}

// Total is the sum of the findings' scores.
func (a Assessment) Total() float64 {
	var t float64
	for _, f := range a.Findings {
		t += f.Score
	}
	return t
}

// Score returns the score of the finding named name, 0 if none.
func (a Assessment) Score(name string) float64 {
	for _, f := range a.Findings {
		if f.Name == name {
			return f.Score
		}
	}
	return 0
}

// Store is what the package needs of store.Store.
type Store interface {
	AddReputation(ctx context.Context, now time.Time, deltas []store.RepDelta) error
	Reputations(ctx context.Context, now time.Time, keys []store.RepKey) (map[store.RepKey]store.RepEntry, error)
	PruneReputation(ctx context.Context, before time.Time) (int64, error)
	Correspondents(ctx context.Context, accountID int64, addresses []string) ([]store.Correspondent, error)
}

// Policy sets how counts become scores. Zero fields take the defaults
// (DefaultPolicy).
type Policy struct {
	UserWeight  float64 // a report weighs this many verdicts; 5
	MinEvidence float64 // weighted counts below which a key says nothing; 3
	Prior       float64 // pseudo-counts that pull little evidence to 0; 5
	SenderMax   float64 // the largest sender domain score; 4
	NetworkMax  float64 // 3
	LinkMax     float64 // 4
	// VerdictCap bounds a score backed by verdicts alone (see the package
	// doc); 1.5.
	VerdictCap float64
	// FreshAge: a link domain first seen more recently is fresh; 48 h.
	FreshAge   time.Duration
	FreshScore float64 // 1.5
	// Correspondent is the score of an authenticated sender the account
	// wrote to within CorrespondentAge; -5, 1 year.
	Correspondent    float64
	CorrespondentAge time.Duration
	// KeepFor: Prune removes keys not seen for this long; 1 year.
	KeepFor time.Duration
}

// DefaultPolicy is the policy of the zero fields.
var DefaultPolicy = Policy{
	UserWeight: 5, MinEvidence: 3, Prior: 5,
	SenderMax: 4, NetworkMax: 3, LinkMax: 4, VerdictCap: 1.5,
	FreshAge: 48 * time.Hour, FreshScore: 1.5,
	Correspondent: -5, CorrespondentAge: 365 * 24 * time.Hour,
	KeepFor: 365 * 24 * time.Hour,
}

func (p Policy) withDefaults() Policy {
	d := DefaultPolicy
	def := func(v *float64, x float64) {
		if *v == 0 {
			*v = x
		}
	}
	def(&p.UserWeight, d.UserWeight)
	def(&p.MinEvidence, d.MinEvidence)
	def(&p.Prior, d.Prior)
	def(&p.SenderMax, d.SenderMax)
	def(&p.NetworkMax, d.NetworkMax)
	def(&p.LinkMax, d.LinkMax)
	def(&p.VerdictCap, d.VerdictCap)
	def(&p.FreshScore, d.FreshScore)
	def(&p.Correspondent, d.Correspondent)
	for _, v := range []struct{ v, d *time.Duration }{{&p.FreshAge, &d.FreshAge}, {&p.CorrespondentAge, &d.CorrespondentAge}, {&p.KeepFor, &d.KeepFor}} {
		if *v.v == 0 {
			*v.v = *v.d
		}
	}
	return p
}

// Reputation records observations and assesses messages.
type Reputation struct {
	store  Store
	policy Policy
	now    func() time.Time
}

// New returns a Reputation over st with policy p (zero fields take the
// defaults). now, if nil, is time.Now.
func New(st Store, p Policy, now func() time.Time) *Reputation {
	if now == nil {
		now = time.Now
	}
	return &Reputation{store: st, policy: p.withDefaults(), now: now}
}

// Record adds one observation to the counts of its keys, in one
// transaction.
func (r *Reputation) Record(ctx context.Context, o Observation) error {
	c, err := counts(o.Class, o.Source)
	if err != nil {
		return err
	}
	if o.Undo {
		c = c.Scale(-1)
	}
	var deltas []store.RepDelta
	for _, k := range keys(o.SenderDomain, o.IP, o.LinkDomains) {
		deltas = append(deltas, store.RepDelta{Key: k, RepCounts: c})
	}
	if len(deltas) == 0 {
		return nil
	}
	// Keep the watch marker seen: its first sighting is when link
	// domains began to be watched.
	deltas = append(deltas, store.RepDelta{Key: watchKey})
	if err := r.store.AddReputation(ctx, r.now(), deltas); err != nil {
		return fmt.Errorf("reputation: %w", err)
	}
	return nil
}

// counts is one observation of class from source.
func counts(class, source string) (store.RepCounts, error) {
	var c store.RepCounts
	user := source == FromUser
	if !user && source != FromVerdict {
		return c, fmt.Errorf("reputation: unknown source %q", source)
	}
	switch {
	case class == Ham && user:
		c.UserHam = 1
	case class == Ham:
		c.Ham = 1
	case class == Spam && user:
		c.UserSpam = 1
	case class == Spam:
		c.Spam = 1
	case class == Phish && user:
		c.UserPhish = 1
	case class == Phish:
		c.Phish = 1
	default:
		return c, fmt.Errorf("reputation: unknown class %q", class)
	}
	return c, nil
}

// Assess scores a message by the reputation of its keys and whether its
// sender is a correspondent. Keys nobody counted yet say nothing, except
// link domains, which are then fresh.
func (r *Reputation) Assess(ctx context.Context, q Query) (Assessment, error) {
	now := r.now()
	var a Assessment
	ks := keys(q.SenderDomain, q.IP, q.LinkDomains)
	asked := ks
	if len(q.LinkDomains) > 0 {
		asked = append(ks[:len(ks):len(ks)], watchKey)
	}
	entries, err := r.store.Reputations(ctx, now, asked)
	if err != nil {
		return a, fmt.Errorf("reputation: %w", err)
	}
	var fresh []string
	watching := r.watching(entries, now)
	for _, k := range ks {
		e, known := entries[k]
		if f, ok := r.judge(k, e); known && ok {
			a.Findings = append(a.Findings, f)
		}
		if k.Kind == store.RepLink && watching {
			if why, ok := r.fresh(k.Name, e, known, now); ok {
				fresh = append(fresh, why)
			}
		}
	}
	if len(fresh) > 0 {
		// One finding however many: a newsletter's ten new domains are
		// no ten times worse than one.
		a.Findings = append(a.Findings, Finding{Name: "fresh_link_domain", Score: r.policy.FreshScore, Reason: strings.Join(fresh, "; ")})
	}
	f, ok, err := r.correspondent(ctx, q, now)
	if err != nil {
		return a, err
	}
	if ok {
		a.Findings = append(a.Findings, f)
	}
	return a, nil
}

// judge turns a key's counts into a score. Verdicts and people's
// reports each give a part: the share of bad over good mail, pulled
// towards zero by Prior, times the kind's maximum. The verdicts' part is
// capped at VerdictCap; the sum at the kind's maximum.
func (r *Reputation) judge(k store.RepKey, e store.RepEntry) (Finding, bool) {
	p := r.policy
	w := p.UserWeight
	userBad, userGood := w*(e.UserSpam+e.UserPhish), w*e.UserHam
	bad, good := e.Spam+e.Phish, e.Ham
	if bad+good+userBad+userGood < p.MinEvidence {
		return Finding{}, false
	}
	name, limit := "", 0.0
	switch k.Kind {
	case store.RepSender:
		name, limit = "sender_domain", p.SenderMax
	case store.RepNet:
		name, limit = "network", p.NetworkMax
	case store.RepLink:
		name, limit = "link_domain", p.LinkMax
	}
	part := func(bad, good float64) float64 { return (bad - good) / (bad + good + p.Prior) * limit }
	verdicts := clamp(part(bad, good), p.VerdictCap)
	score := clamp(part(userBad, userGood)+verdicts, limit)
	if math.Abs(score) < 0.05 {
		return Finding{}, false
	}
	if score > 0 {
		name += "_bad"
	} else {
		name += "_good"
		if k.Kind == store.RepLink {
			return Finding{}, false // a good link proves nothing of the sender
		}
	}
	return Finding{Name: name, Score: round(score), Reason: k.Name + ": " + describe(e)}, true
}

func clamp(v, limit float64) float64 { return math.Max(-limit, math.Min(limit, v)) }

// describe says what the counts are made of, rounded for people.
func describe(e store.RepEntry) string {
	var parts []string
	add := func(v float64, what string) {
		if n := math.Round(v); n >= 1 {
			parts = append(parts, fmt.Sprintf("%.0f %s", n, what))
		}
	}
	add(e.UserSpam, "reported spam")
	add(e.UserPhish, "reported phishing")
	add(e.UserHam, "reported not spam")
	add(e.Spam, "spam")
	add(e.Phish, "phishing")
	add(e.Ham, "ham")
	if len(parts) == 0 {
		return "little recent mail"
	}
	return strings.Join(parts, ", ")
}

// watchKey marks when Sealpost began to watch link domains: every
// Record keeps it seen, so its FirstSeen is the first Record. "." is no
// domain, so no link's key can be it.
var watchKey = store.RepKey{Kind: store.RepLink, Name: "."}

// watching reports whether link domains have been watched for FreshAge
// at least. Before, every domain is new to Sealpost, not to the world: a
// new installation would call every link of every message fresh.
func (r *Reputation) watching(entries map[store.RepKey]store.RepEntry, now time.Time) bool {
	e, ok := entries[watchKey]
	return ok && now.Sub(e.FirstSeen) >= r.policy.FreshAge
}

// fresh says why a link domain is fresh: first seen less than FreshAge
// ago, or never.
func (r *Reputation) fresh(domain string, e store.RepEntry, known bool, now time.Time) (string, bool) {
	if !known {
		return domain + ": never seen before", true
	}
	age := now.Sub(e.FirstSeen)
	if age >= r.policy.FreshAge {
		return "", false
	}
	return fmt.Sprintf("%s: first seen %s ago", domain, roughly(age)), true
}

// correspondent trusts an authenticated From that the account wrote to.
func (r *Reputation) correspondent(ctx context.Context, q Query, now time.Time) (Finding, bool, error) {
	from := strings.ToLower(strings.TrimSpace(q.FromAddress))
	_, domain, ok := strings.Cut(from, "@")
	if q.AccountID == 0 || !ok || domain == "" || domain != normDomain(q.SenderDomain) {
		return Finding{}, false, nil
	}
	cs, err := r.store.Correspondents(ctx, q.AccountID, []string{from})
	if err != nil {
		return Finding{}, false, fmt.Errorf("reputation: %w", err)
	}
	for _, c := range cs {
		if c.LastWrote.IsZero() || now.Sub(c.LastWrote) > r.policy.CorrespondentAge {
			continue
		}
		return Finding{Name: "correspondent", Score: r.policy.Correspondent,
			Reason: fmt.Sprintf("%s: you wrote to them %s ago", from, roughly(now.Sub(c.LastWrote)))}, true, nil
	}
	return Finding{}, false, nil
}

// Prune removes the keys not seen for KeepFor, and returns how many.
func (r *Reputation) Prune(ctx context.Context) (int64, error) {
	n, err := r.store.PruneReputation(ctx, r.now().Add(-r.policy.KeepFor))
	if err != nil {
		return 0, fmt.Errorf("reputation: %w", err)
	}
	return n, nil
}

// keys are the store keys of a message: its sender domain, its network
// and its link domains' registrable domains, each once.
func keys(sender string, ip netip.Addr, links []string) []store.RepKey {
	var ks []store.RepKey
	if d := normDomain(sender); d != "" {
		ks = append(ks, store.RepKey{Kind: store.RepSender, Name: d})
	}
	if n, ok := Network(ip); ok {
		ks = append(ks, store.RepKey{Kind: store.RepNet, Name: n.String()})
	}
	seen := map[string]bool{}
	for _, l := range links {
		d := LinkDomain(l)
		if d == "" || seen[d] {
			continue
		}
		if len(seen) == MaxLinkDomains {
			break
		}
		seen[d] = true
		ks = append(ks, store.RepKey{Kind: store.RepLink, Name: d})
	}
	return ks
}

// Network is the block ip is counted in: its /24 for IPv4 (IPv4-mapped
// IPv6 included), its /64 for IPv6. Not ok for the zero Addr.
func Network(ip netip.Addr) (netip.Prefix, bool) {
	if !ip.IsValid() {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap().WithZone("")
	bits := 64
	if ip.Is4() {
		bits = 24
	}
	return netip.PrefixFrom(ip, bits).Masked(), true
}

// LinkDomain is the registrable domain of a link's host ("login.evil.example"
// → "evil.example"); "" for an address literal or a name that is not one.
func LinkDomain(host string) string {
	h := normDomain(host)
	if h == "" || !strings.Contains(h, ".") {
		return ""
	}
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return "" // raw IPs are the phishing checks' business
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(h)
	if err != nil {
		return ""
	}
	return d
}

// normDomain lower-cases a domain and drops a final dot; "" when it is
// not a plausible name.
func normDomain(d string) string {
	d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	if d == "" || len(d) > store.MaxRepNameLen || strings.ContainsAny(d, " \t\r\n\x00/@") {
		return ""
	}
	return d
}

// roughly says a duration the way people would: "2 h", "3 days".
func roughly(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "moments"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	default:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
}

func round(f float64) float64 { return math.Round(f*100) / 100 }
