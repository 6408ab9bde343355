package phish

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"
)

// Link is a link found in a message; the fields mean what they mean in
// content.Link.
type Link struct {
	Text string // the anchor's visible text (HTML), "" for a bare URL in text
	Href string // as written (entities decoded), trimmed
	Host string // lower-cased host of Href; IDNs as Unicode; "" if none
	HTML bool   // from an <a href>, <area>, <form action>
	Form bool   // a <form action=...>
}

// MaxLinks bounds the links examined per call; the rest are not looked at.
const MaxLinks = 1000

// trackers are the click-tracking hosts of mailing services: a newsletter's
// "www.example.com" routinely goes through them, so a mismatch between
// text and link there says little.
var trackers = map[string]bool{
	"list-manage.com": true, "mailchi.mp": true, "sendgrid.net": true, "mandrillapp.com": true,
	"mailgun.org": true, "sparkpostmail.com": true, "rs6.net": true, "hubspotlinks.com": true,
	"exct.net": true, "awstrack.me": true, "mcsv.net": true, "cmail19.com": true, "cmail20.com": true,
	"createsend.com": true, "sendibt3.com": true, "mailjet.com": true, "klclick.com": true,
	"ml-link.com": true, "convertkit-mail.com": true, "substack.com": true, "msgfocus.com": true,
}

// Links examines a message's links: visible text showing one domain while
// the link goes to another registrable domain, links to numeric
// addresses, through URL shorteners, with a user name before the host
// (http://bank.example@evil.test/), to lookalikes of known domains, and
// forms. Each name is reported once, with the count of repeats.
func Links(links []Link, k Known) []Finding {
	if len(links) == 0 {
		return nil
	}
	if len(links) > MaxLinks {
		links = links[:MaxLinks]
	}
	ix := k.prepared()
	var fs []Finding
	looked := map[string]bool{}
	parsed := map[string]domain{} // newsletters link to a few hosts many times
	for _, l := range links {
		u, host := parseHref(l)
		if l.Form {
			to := host
			if to == "" {
				to = "an unnamed address"
			}
			// Newsletters carry search and subscription forms: a form alone
			// weighs little; where it sends to is checked like any link.
			fs = append(fs, Finding{NameForm, 1, fmt.Sprintf("the message holds a form that sends what you type to %s", to)})
		}
		if obfuscatedHost(l.Href) {
			fs = append(fs, Finding{NameLinkObfuscated, 3, fmt.Sprintf("a link hides its host behind escapes or spaces: %.80q", l.Href)})
		}
		if host == "" {
			continue
		}
		if u != nil && u.User != nil && (u.Scheme == "http" || u.Scheme == "https") {
			fs = append(fs, Finding{NameLinkUserinfo, 3.5,
				fmt.Sprintf("a link shows %q before the host but goes to %s", u.User.Username(), host)})
		}
		if isNumericHost(host) {
			fs = append(fs, Finding{NameLinkIP, 2.5, fmt.Sprintf("a link goes to the bare address %s", host)})
			if f, ok := textMismatch(ix, l, domain{name: host, reg: host}); ok {
				fs = append(fs, f)
			}
			continue
		}
		d, ok := parsed[host]
		if !ok {
			d, ok = parseDomain(host)
			if !ok {
				continue
			}
			parsed[host] = d
		}
		if ix.shorteners[d.name] || ix.shorteners[d.reg] {
			fs = append(fs, Finding{NameLinkShortener, 1, fmt.Sprintf("a link goes through the URL shortener %s, hiding where it leads", d.reg)})
		}
		if f, ok := textMismatch(ix, l, d); ok {
			fs = append(fs, f)
		}
		if !looked[d.name] {
			looked[d.name] = true
			fs = append(fs, linkLookalike(ix, d)...)
		}
	}
	return Dedupe(fs)
}

// parseHref returns the parsed href (nil when it does not parse) and the
// host, from l.Host when given.
func parseHref(l Link) (*url.URL, string) {
	u, err := url.Parse(strings.TrimSpace(l.Href))
	if err != nil {
		u = nil
	}
	host := strings.ToLower(l.Host)
	if host == "" && u != nil && (u.Scheme == "http" || u.Scheme == "https") {
		host = strings.ToLower(u.Hostname())
	}
	return u, strings.TrimSuffix(strings.Trim(host, "[]"), ".")
}

// obfuscatedHost reports an http(s) href whose host is written with
// percent escapes or holds white space: browsers undo both, people
// cannot read them, and no honest sender needs them.
func obfuscatedHost(href string) bool {
	rest, ok := cutScheme(href)
	if !ok {
		return false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority := rest[:end]
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		authority = authority[at+1:]
	}
	return strings.ContainsAny(authority, "% \t\r\n")
}

func cutScheme(href string) (string, bool) {
	h := strings.TrimSpace(href)
	for _, scheme := range []string{"http://", "https://"} {
		if len(h) >= len(scheme) && strings.EqualFold(h[:len(scheme)], scheme) {
			return h[len(scheme):], true
		}
	}
	return "", false
}

// isNumericHost recognises IPv4 and IPv6 literals and the integer forms
// browsers accept for IPv4 ("3232235777", "0xc0a80001", "0300.0250.0.1").
func isNumericHost(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	for part := range strings.SplitSeq(host, ".") {
		if part == "" {
			continue
		}
		p := strings.TrimPrefix(part, "0x")
		for i := 0; i < len(p); i++ {
			c := p[i] | 0x20
			if !('0' <= p[i] && p[i] <= '9') && !(p != part && 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return strings.Trim(host, ".") != ""
}

// textMismatch reports a link whose visible text is a URL or domain of
// another registrable domain than the one the link goes to.
func textMismatch(ix *index, l Link, d domain) (Finding, bool) {
	shown := hostInText(l.Text)
	if shown == "" {
		return Finding{}, false
	}
	sd, ok := parseDomain(shown)
	if !ok || sd.reg == d.reg {
		return Finding{}, false
	}
	score := 2.0
	switch {
	case ix.regs[sd.reg]:
		score = 4
	case trackers[d.reg]:
		return Finding{}, false
	}
	return Finding{NameLinkTextMismatch, score,
		fmt.Sprintf("a link shows %s but goes to %s", sd.name, d.name)}, true
}

// hostInText returns the host of a visible text that is a single URL or
// domain name ("https://www.example.com/login", "www.example.com",
// "example.com/x"), "" otherwise.
func hostInText(text string) string {
	t := strings.ToLower(strings.Trim(strings.TrimSpace(text), "<>()[]\"'.,;:!"))
	if t == "" || len(t) > 2048 || strings.ContainsAny(t, " \t\r\n@") {
		return ""
	}
	if strings.HasPrefix(t, "http://") || strings.HasPrefix(t, "https://") {
		u, err := url.Parse(t)
		if err != nil {
			return ""
		}
		return u.Hostname()
	}
	host, _, _ := strings.Cut(t, "/")
	host, _, _ = strings.Cut(host, "?")
	if !strings.Contains(host, ".") {
		return ""
	}
	// Only names under a real top-level domain: "index.html" is a file.
	tld := host[strings.LastIndexByte(host, '.')+1:]
	if _, icann := publicsuffix.PublicSuffix(tld); !icann {
		return ""
	}
	return host
}

// linkLookalike reports a link host imitating a known domain, under the
// link's own names so that the From check and the link check add up
// separately.
func linkLookalike(ix *index, d domain) []Finding {
	fs := ix.lookalike(d, "a link goes to "+d.shown()+", which")
	for i := range fs {
		switch fs[i].Name {
		case NameHomograph, NameTypo, NameAddedWords:
			fs[i].Name = NameLinkLookalike
		}
	}
	return fs
}

// FreshDomain reports a host whose registrable domain the server first saw
// at firstSeen (zero: never before now): a phishing domain is used within
// hours of its registration. The pipeline keeps the history.
func FreshDomain(host string, firstSeen, now time.Time) []Finding {
	d, ok := parseDomain(host)
	if !ok {
		return nil
	}
	if firstSeen.IsZero() || firstSeen.After(now) {
		firstSeen = now
	}
	age := now.Sub(firstSeen)
	switch {
	case age < 24*time.Hour:
		return []Finding{{NameFreshDomain, 1.5, fmt.Sprintf("%s was first seen %s ago", d.reg, roundAge(age))}}
	case age < 7*24*time.Hour:
		return []Finding{{NameFreshDomain, 0.75, fmt.Sprintf("%s was first seen %s ago", d.reg, roundAge(age))}}
	}
	return nil
}

func roundAge(age time.Duration) string {
	if age < time.Hour {
		return age.Round(time.Minute).String()
	}
	return age.Round(time.Hour).String()
}
