package phish

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
)

// NameDisplayBrand: the display name is a brand's, the address is not.
const NameDisplayBrand = "display_name_brand"

// personRef is a known person under the skeleton of their name.
type personRef struct {
	Person
	local bool
}

// names indexes LocalPeople and Correspondents by the skeleton of their
// folded display name. Only names of two words or more are kept: a
// single first name, "Support" or "Admin" is shared by many senders.
// Built with the index, so a prepared Known is safe for concurrent use.
func buildNames(k Known) map[string][]personRef {
	m := map[string][]personRef{}
	add := func(p Person, local bool) {
		n := foldName(p.Name)
		if strings.Count(n, " ") < 1 || len(n) < 5 {
			return
		}
		key := nameKey(n)
		m[key] = append(m[key], personRef{Person{p.Name, strings.ToLower(p.Addr)}, local})
	}
	for _, p := range k.LocalPeople {
		add(p, true)
	}
	for _, p := range k.Correspondents {
		add(p, false)
	}
	return m
}

// DisplayName reports a From whose display name claims someone it is not:
// the name of one of our users or of a frequent correspondent with
// another address, an address written in the name that is not the
// sender's (`"ann@example.org" <x@evil.test>`), one of our domains in
// the name, or a brand's name from elsewhere.
func DisplayName(from Person, k Known) []Finding {
	name := foldName(from.Name)
	addr := strings.ToLower(strings.TrimSpace(from.Addr))
	if name == "" {
		return nil
	}
	ix := k.prepared()
	var fs []Finding
	fs = append(fs, addressesInName(ix, from, name, addr)...)
	if f, ok := knownPerson(ix, from, name, addr); ok {
		fs = append(fs, f)
	}
	if f, ok := brandName(ix, from, name, addr); ok {
		fs = append(fs, f)
	}
	return Dedupe(fs)
}

// addressesInName checks the addresses and our domains shown in the name.
func addressesInName(ix *index, from Person, name, addr string) []Finding {
	sender, _ := parseDomain(domainOf(addr))
	viaList := strings.Contains(" "+name+" ", " via ")
	var fs []Finding
	for _, tok := range strings.Fields(name) {
		tok = strings.Trim(tok, ".-_+")
		if at := strings.LastIndexByte(tok, '@'); at > 0 && strings.Contains(tok[at:], ".") {
			if tok == addr {
				continue
			}
			score := 3.0
			if d, ok := parseDomain(tok[at+1:]); ok && ix.regs[d.reg] {
				score = 5
			}
			if viaList {
				// "'ann@example.org' via Friends" <friends@lists.test>: a
				// mailing list rewrote the From (RFC 7960 §4.1.3).
				score = 0.5
			}
			fs = append(fs, Finding{NameDisplayAddress, score,
				fmt.Sprintf("the name %q shows the address %s but the message was sent from %s", from.Name, tok, addr)})
			continue
		}
		if !strings.Contains(tok, ".") {
			continue
		}
		d, ok := parseDomain(tok)
		if !ok || d.reg == sender.reg {
			continue
		}
		for _, p := range ix.domains {
			if p.kind == kindOurs && p.reg == d.reg {
				fs = append(fs, Finding{NameDisplayDomain, 2.5,
					fmt.Sprintf("the name %q shows our domain %s but the message was sent from %s", from.Name, d.reg, addr)})
			}
		}
	}
	return fs
}

// knownPerson checks whether the name is that of a known person whose
// addresses do not include the sender's.
func knownPerson(ix *index, from Person, name, addr string) (Finding, bool) {
	refs := ix.names[nameKey(name)]
	if len(refs) == 0 {
		return Finding{}, false
	}
	for _, r := range refs {
		if r.Addr == addr {
			return Finding{}, false
		}
	}
	r := refs[0]
	for _, x := range refs {
		if x.local {
			r = x
			break
		}
	}
	who, score := "a frequent correspondent", 3.0
	if r.local {
		who, score = "one of our users", 4.0
	}
	// The same organisation with another mailbox is most likely the same
	// person; a lookalike or foreign domain is not.
	sd, ok1 := parseDomain(domainOf(addr))
	pd, ok2 := parseDomain(domainOf(r.Addr))
	if ok1 && ok2 && sd.reg == pd.reg {
		score = 1
	}
	return Finding{NameDisplayImpersonation, score,
		fmt.Sprintf("claims to be %s <%s> (%s) but was sent from %s", r.Name, r.Addr, who, addr)}, true
}

// brandName checks a display name made of a brand's name ("PayPal",
// "PayPal Service") sent from outside that brand's domains.
func brandName(ix *index, from Person, name, addr string) (Finding, bool) {
	sender, ok := parseDomain(domainOf(addr))
	if !ok {
		return Finding{}, false
	}
	words := strings.Fields(skeleton(name))
	if len(words) == 0 || len(words) > 4 {
		return Finding{}, false
	}
	for _, p := range ix.domains {
		if p.kind != kindBrand || len(p.skelR) < 4 {
			continue
		}
		if words[0] != p.skel && words[0] != p.regSk || !allServiceWords(words[1:]) {
			continue
		}
		if sender.skel == p.skel && sender.label == p.label {
			return Finding{}, false // the brand's own domain under another suffix
		}
		return Finding{NameDisplayBrand, 1.5,
			fmt.Sprintf("the name %q is that of %s but the message was sent from %s", from.Name, p.reg, addr)}, true
	}
	return Finding{}, false
}

// nameKey is the skeleton of a folded name without its accents: people
// write "Díaz" and "Diaz" for the same person.
func nameKey(folded string) string {
	return strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Mn, r) {
			return -1
		}
		return r
	}, skeleton(folded))
}

// serviceWords follow a brand in the names phishing signs with ("PayPal
// Security Team"); any other word makes it a person's or another
// company's name ("Chase Smith", "Apple Valley Farm").
var serviceWords = map[string]bool{
	"service": true, "services": true, "support": true, "security": true, "team": true,
	"account": true, "accounts": true, "customer": true, "customers": true, "billing": true,
	"inc": true, "online": true, "alert": true, "alerts": true, "notification": true,
	"notifications": true, "center": true, "centre": true, "department": true, "dept": true,
	"member": true, "members": true, "help": true, "noreply": true, "no-reply": true, "id": true,
	"bank": true, "banking": true, "verification": true, "update": true, "the": true,
	"resolution": true, "safety": true, "fraud": true, "protection": true, "corp": true, "ltd": true,
	"llc": true, "payments": true, "com": true,
}

// allServiceWords reports whether every word (a skeleton) is a service
// word.
func allServiceWords(words []string) bool {
	known := serviceSkeletons()
	for _, w := range words {
		if !known[w] {
			return false
		}
	}
	return true
}

var serviceSkeletons = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool, len(serviceWords))
	for w := range serviceWords {
		m[skeleton(w)] = true
	}
	return m
})
