package filter

import (
	"context"
	"strings"
	"sync"
	"time"
	"unicode"

	"sealpost.dev/sealpost/internal/filter/phish"
	"sealpost.dev/sealpost/internal/store"
)

// Directory is what the phishing check reads of the store: the hosted
// domains and the accounts (store.Store implements it).
type Directory interface {
	ListDomains(ctx context.Context) ([]store.Domain, error)
	ListAccounts(ctx context.Context, domain string) ([]store.Account, error)
}

// CorrespondentLister lists the correspondents an account wrote to, the
// latest first. It is not part of store.Store (whose
// Outbound.Correspondents looks up given addresses only); the SQLite and
// PostgreSQL stores implement it, and a Directory that does lets the
// display-name check protect the recipient's correspondents too. The
// store keeps addresses without display names: names are read from the
// addresses, as for our users.
type CorrespondentLister interface {
	ListCorrespondents(ctx context.Context, accountID int64, limit int) ([]store.Correspondent, error)
}

// Phish is the phishing heuristics of package phish. As a Check it looks
// at what depends on the message alone: its links, its wording, a From
// domain that imitates a hosted domain (or a brand), and a DMARC failure
// of a domain that asks to reject such mail (this replaces a DMARC check
// of the framework's own). As an AccountCheck it looks for a display name
// that impersonates one of our users, or one of the recipient's
// correspondents, from another address.
//
// Our users have no display names in the store: their names are read
// from their addresses ("ann.smith@" is Ann Smith), so only addresses of
// two words or more protect a name. The hosted domains and the people are
// read once per TTL; an account's prepared phish.Known is cached per
// account, at most MaxAccounts of them.
type Phish struct {
	Directory Directory
	// TTL is how long what was read from the store is used; 0 is 5
	// minutes.
	TTL time.Duration
	// MaxAccounts bounds the per-account cache; 0 is 10,000.
	MaxAccounts int
	// Correspondents is how many of an account's correspondents are
	// compared against (with a CorrespondentLister); 0 is 500.
	Correspondents int

	Now func() time.Time

	once     sync.Once
	global   *ttlCache[struct{}, phish.Known]
	accounts *ttlCache[int64, phish.Known]
}

// NewPhish returns the phishing check over dir.
func NewPhish(dir Directory) *Phish {
	return &Phish{Directory: dir}
}

func (p *Phish) init() {
	ttl := p.TTL
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	n := p.MaxAccounts
	if n <= 0 {
		n = 10000
	}
	p.global = newTTLCache[struct{}, phish.Known](ttl, 1, p.Now)
	p.accounts = newTTLCache[int64, phish.Known](ttl, n, p.Now)
}

// Name implements Check and AccountCheck.
func (*Phish) Name() string { return "phish" }

// Check implements Check.
func (p *Phish) Check(ctx context.Context, in *Input) ([]Score, error) {
	k, err := p.known(ctx)
	if err != nil {
		return nil, err
	}
	m := in.Message
	var fs []phish.Finding
	if len(m.Links) > 0 {
		links := make([]phish.Link, len(m.Links))
		for i, l := range m.Links {
			links[i] = phish.Link{Text: l.Text, Href: l.Href, Host: l.Host, HTML: l.HTML, Form: l.Form}
		}
		fs = append(fs, phish.Links(links, k)...)
	}
	fs = append(fs, phish.Wording(m.Subject, m.Text)...)
	if d := fromDomain(in); d != "" {
		fs = append(fs, phish.LookalikeDomain(d, k)...)
	}
	if a := in.Auth; a != nil && a.Exempted == "" && a.TrustedARC == "" {
		fs = append(fs, phish.DMARCReject(a.FromDomain, a.DMARC, a.Policy)...)
	}
	return findingScores(fs), nil
}

// CheckAccount implements AccountCheck.
func (p *Phish) CheckAccount(ctx context.Context, in *Input, rcpt Recipient) ([]Score, error) {
	if len(in.Message.From) == 0 {
		return nil, nil
	}
	k, err := p.accountKnown(ctx, rcpt.ID)
	if err != nil {
		return nil, err
	}
	from := in.Message.From[0]
	return findingScores(phish.DisplayName(phish.Person{Name: from.Name, Addr: from.Addr}, k)), nil
}

// known returns the hosted domains and our users, prepared.
func (p *Phish) known(ctx context.Context) (phish.Known, error) {
	p.once.Do(p.init)
	if k, ok := p.global.get(struct{}{}); ok {
		return k, nil
	}
	var k phish.Known
	if p.Directory != nil {
		domains, err := p.Directory.ListDomains(ctx)
		if err != nil {
			return k, err
		}
		for _, d := range domains {
			k.OurDomains = append(k.OurDomains, d.Name)
		}
		accounts, err := p.Directory.ListAccounts(ctx, "")
		if err != nil {
			return k, err
		}
		for _, a := range accounts {
			if !a.Disabled {
				k.LocalPeople = append(k.LocalPeople, phish.Person{Name: nameOf(a.Address), Addr: a.Address})
			}
		}
	}
	k = k.Prepare()
	p.global.put(struct{}{}, k)
	return k, nil
}

// accountKnown returns known with the account's correspondents, prepared.
func (p *Phish) accountKnown(ctx context.Context, accountID int64) (phish.Known, error) {
	lister, ok := p.Directory.(CorrespondentLister)
	if !ok || accountID == 0 {
		return p.known(ctx)
	}
	p.once.Do(p.init)
	if k, ok := p.accounts.get(accountID); ok {
		return k, nil
	}
	k, err := p.known(ctx)
	if err != nil {
		return k, err
	}
	n := p.Correspondents
	if n <= 0 {
		n = 500
	}
	cs, err := lister.ListCorrespondents(ctx, accountID, n)
	if err != nil {
		return k, err
	}
	// A fresh Known: the global one's slices are shared by every account.
	own := phish.Known{OurDomains: k.OurDomains, LocalPeople: k.LocalPeople}
	for _, c := range cs {
		own.Correspondents = append(own.Correspondents, phish.Person{Name: nameOf(c.Address), Addr: c.Address})
	}
	own = own.Prepare()
	p.accounts.put(accountID, own)
	return own, nil
}

// nameOf reads a person's name from the local part of an address:
// "ann.smith", "ann_smith" and "ann-smith" are "Ann Smith"; a local part
// of one word, or with digits, gives "" (no name to protect).
func nameOf(addr string) string {
	local, _, _ := strings.Cut(addr, "@")
	words := strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' })
	if len(words) < 2 || len(words) > 4 {
		return ""
	}
	for i, w := range words {
		for _, r := range w {
			if !unicode.IsLetter(r) {
				return ""
			}
		}
		rs := []rune(strings.ToLower(w))
		rs[0] = unicode.ToUpper(rs[0])
		words[i] = string(rs)
	}
	return strings.Join(words, " ")
}

// fromDomain is the domain of the message's first From address, lower
// case; "" when none.
func fromDomain(in *Input) string {
	if len(in.Message.From) == 0 {
		return ""
	}
	addr := in.Message.From[0].Addr
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(addr[at+1:], "."))
}

// findingScores turns findings of package phish (and attach) into scores:
// phishing findings are Warn, so the recipient is told of them.
func findingScores(fs []phish.Finding) []Score {
	if len(fs) == 0 {
		return nil
	}
	out := make([]Score, len(fs))
	for i, f := range fs {
		out[i] = Score{Name: f.Name, Weight: f.Score, Reason: f.Reason, Warn: true}
	}
	return out
}
