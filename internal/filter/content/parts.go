package content

import (
	"mime"
	"net/mail"
	"strings"

	"sealpost.dev/sealpost/internal/mimeutil"
)

// maxAddresses bounds the mailboxes kept of one field.
const maxAddresses = 1000

// addresses returns the mailboxes of every header field called name.
// A field that net/mail cannot parse is read leniently: comma-separated
// items, an address in angle brackets or a word with an "@".
func (p *parser) addresses(name string) []Address {
	var out []Address
	for _, v := range p.m.Values(name) {
		if len(out) >= maxAddresses {
			break
		}
		list, err := addrParser.ParseList(v)
		if err != nil {
			p.flaw(FlawBadAddress)
			out = append(out, lenientAddresses(v)...)
			continue
		}
		for _, a := range list {
			out = append(out, Address{Name: mimeutil.CleanText(a.Name), Addr: lowerDomain(a.Address)})
		}
	}
	if len(out) > maxAddresses {
		out = out[:maxAddresses]
	}
	return out
}

// addrParser decodes encoded words in display names; the values were
// decoded already, but an undecodable word is left for it to try.
var addrParser = &mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: mimeutil.CharsetReader}}

// lenientAddresses reads an address list that is not RFC 5322.
func lenientAddresses(v string) []Address {
	var out []Address
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var a Address
		if lt := strings.LastIndexByte(item, '<'); lt >= 0 {
			addr, _, _ := strings.Cut(item[lt+1:], ">")
			a.Addr = strings.TrimSpace(addr)
			a.Name = strings.Trim(strings.TrimSpace(item[:lt]), `"' `)
		} else {
			for _, w := range strings.Fields(item) {
				if strings.Contains(w, "@") {
					a.Addr = strings.Trim(w, `"'()[]`)
				} else {
					a.Name = strings.TrimSpace(a.Name + " " + strings.Trim(w, `"'()`))
				}
			}
		}
		if a.Addr == "" && a.Name == "" {
			continue
		}
		a.Addr = lowerDomain(a.Addr)
		out = append(out, a)
	}
	return out
}

// lowerDomain lower-cases the domain of an address, keeping the local
// part as written.
func lowerDomain(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	return addr[:at+1] + strings.ToLower(addr[at+1:])
}
