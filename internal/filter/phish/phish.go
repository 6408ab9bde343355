package phish

import (
	"fmt"
	"slices"
	"strings"
)

// Finding is one heuristic that fired: a stable name the pipeline weighs
// and logs, a suggested score, and a reason written for the recipient.
type Finding struct {
	Name   string  // stable identifier, e.g. "display_name_impersonation"
	Score  float64 // suggested weight (the pipeline may rescale)
	Reason string  // for people
}

// The names of the findings. They are stable: configuration, logs and
// statistics refer to them.
const (
	NameDisplayImpersonation = "display_name_impersonation" // a known person's name, another address
	NameDisplayAddress       = "display_name_address"       // the name shows an address that is not the sender's
	NameDisplayDomain        = "display_name_domain"        // the name shows one of our domains, sent from elsewhere
	NameHomograph            = "lookalike_domain_homograph" // same skeleton (UTS #39) as a known domain
	NameTypo                 = "lookalike_domain_typo"      // one edit away from a known domain
	NameAddedWords           = "lookalike_domain_words"     // a known domain with words added
	NameMixedScript          = "mixed_script_domain"        // a label mixing scripts (Latin with Cyrillic ...)
	NameConfusableIDN        = "lookalike_domain_idn"       // a non-Latin label written only with Latin lookalikes
	NameLinkTextMismatch     = "link_text_mismatch"         // the text shows one domain, the link goes to another
	NameLinkIP               = "link_raw_ip"                // a link to a numeric address
	NameLinkShortener        = "link_shortener"             // a link through a URL shortener
	NameLinkUserinfo         = "link_userinfo"              // http://bank.example@evil.test/
	NameLinkLookalike        = "link_lookalike_domain"      // a link to a lookalike of a known domain
	NameLinkObfuscated       = "link_obfuscated_host"       // a host written with percent escapes
	NameForm                 = "form_in_mail"               // an HTML form in the message
	NameFreshDomain          = "fresh_domain"               // a domain first seen very recently
	NameCredentialHarvest    = "credential_harvest"         // asks for credentials, with urgency
	NameDMARCReject          = "dmarc_reject_fail"          // DMARC fails for a domain publishing p=reject
	NameDMARCQuarantine      = "dmarc_quarantine_fail"      // DMARC fails for a domain publishing p=quarantine
)

// Person is a display name and an address.
type Person struct{ Name, Addr string }

// Known is what the checks compare against. Its slices are read, never
// written.
type Known struct {
	OurDomains     []string // hosted domains
	LocalPeople    []Person // our users (display names and addresses)
	Correspondents []Person // the recipient's frequent correspondents

	// Brands are registrable domains often impersonated (banks, payment,
	// parcel and software companies); nil means DefaultBrands. They are
	// protected from homographs and typos like our own domains, but not
	// from added words unless the words are those of phishing ("secure",
	// "login" ...): google-analytics.com is Google's.
	Brands []string
	// Shorteners are the hosts of URL-shortening services; nil means
	// DefaultShorteners.
	Shorteners []string

	index *index // set by Prepare
}

// Prepare returns k with its domains parsed once, for callers that run
// many checks against the same Known (a message with many links, or the
// same recipient for many messages). Checks work without it.
func (k Known) Prepare() Known {
	k.index = newIndex(k)
	return k
}

func (k Known) prepared() *index {
	if k.index != nil {
		return k.index
	}
	return newIndex(k)
}

// DefaultBrands returns the built-in list of often-impersonated domains.
func DefaultBrands() []string { return slices.Clone(defaultBrands) }

var defaultBrands = []string{
	"paypal.com", "ebay.com", "amazon.com", "apple.com", "icloud.com", "microsoft.com",
	"outlook.com", "live.com", "google.com", "gmail.com", "yahoo.com",
	"facebook.com", "instagram.com", "linkedin.com", "netflix.com", "dropbox.com",
	"docusign.com", "adobe.com", "wellsfargo.com", "bankofamerica.com", "chase.com",
	"citibank.com", "hsbc.com", "barclays.co.uk", "lloydsbank.co.uk", "natwest.com",
	"santander.com", "usbank.com", "americanexpress.com", "visa.com", "mastercard.com",
	"dhl.com", "fedex.com", "ups.com", "usps.com", "irs.gov", "coinbase.com",
	"sparkasse.de", "postbank.de", "commerzbank.de", "deutsche-bank.de", "dkb.de",
	"credit-agricole.fr", "labanquepostale.fr", "bnpparibas.com", "societegenerale.fr",
	"bbva.es", "caixabank.es", "bancosantander.es", "laposte.fr",
}

// DefaultShorteners returns the built-in list of URL-shortener hosts.
func DefaultShorteners() []string { return slices.Clone(defaultShorteners) }

var defaultShorteners = []string{
	"bit.ly", "bitly.com", "j.mp", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "v.gd",
	"buff.ly", "rebrand.ly", "cutt.ly", "shorturl.at", "tiny.cc", "rb.gy", "t.ly", "bl.ink",
	"s.id", "lnkd.in", "qr.ae", "adf.ly", "shorte.st", "x.co", "clck.ru", "tr.im", "u.to",
	"soo.gd", "short.io", "tiny.one", "2u.pw", "shorturl.com", "urlz.fr", "bit.do", "mcaf.ee",
	"qrco.de", "rotf.lol", "t2m.io", "1url.com", "surl.li", "shrtco.de", "gg.gg", "did.li",
}

// Dedupe keeps the highest-scoring finding of each name, saying how many
// more there were, in the order names first appeared.
func Dedupe(fs []Finding) []Finding {
	if len(fs) < 2 {
		return fs
	}
	var out []Finding
	count := map[string]int{}
	for _, f := range fs {
		count[f.Name]++
		i := slices.IndexFunc(out, func(o Finding) bool { return o.Name == f.Name })
		switch {
		case i < 0:
			out = append(out, f)
		case f.Score > out[i].Score:
			out[i] = f
		}
	}
	for i := range out {
		if n := count[out[i].Name] - 1; n > 0 {
			out[i].Reason += fmt.Sprintf(" (and %d more of the kind)", n)
		}
	}
	return out
}

// domainOf returns the lower-cased domain of an address, "" if none.
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.Trim(addr[i+1:], " >.[]"))
}
