package content

import (
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/idna"
)

// maxAnchorText bounds the visible text kept of one anchor.
const maxAnchorText = 1000

// htmlLinks records the links of an HTML part: <a href>, <area href> and
// <form action>, with the anchor's visible text.
func (p *parser) htmlLinks(s string) {
	z := html.NewTokenizer(strings.NewReader(s))
	var open *Link // the <a> whose text is being gathered
	var text strings.Builder
	flush := func() {
		if open != nil {
			open.Text = text.String()
			p.addLink(*open)
			open = nil
			text.Reset()
		}
	}
	for {
		switch z.Next() {
		case html.ErrorToken:
			flush()
			return
		case html.TextToken:
			if open != nil && text.Len() < maxAnchorText {
				text.Write(z.Text())
				text.WriteByte(' ')
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch string(name) {
			case "a", "area", "form":
				attr := "href"
				if string(name) == "form" {
					attr = "action"
				}
				href, ok := attrValue(z, hasAttr, attr)
				if string(name) == "a" {
					flush()
				}
				if !ok {
					continue
				}
				l := Link{Href: href, HTML: true, Form: string(name) == "form"}
				if string(name) == "a" {
					open = &l
					continue
				}
				p.addLink(l)
			case "img":
				// An image inside an anchor: its alt text is what shows.
				if open != nil {
					if alt, ok := attrValue(z, hasAttr, "alt"); ok {
						text.WriteString(alt)
						text.WriteByte(' ')
					}
				}
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "a" {
				flush()
			}
		}
	}
}

// attrValue returns the value of attribute key of the current tag.
func attrValue(z *html.Tokenizer, more bool, key string) (string, bool) {
	for more {
		var k, v []byte
		k, v, more = z.TagAttr()
		if string(k) == key {
			return string(v), true
		}
	}
	return "", false
}

// textLinks records the bare URLs of plain text: http://, https:// and
// www. words.
func (p *parser) textLinks(s string) {
	for len(s) > 0 && len(p.m.Links) < MaxLinks {
		i := indexURL(s)
		if i < 0 {
			return
		}
		s = s[i:]
		end := strings.IndexAny(s, " \t\r\n<>\"'`{}|\\^")
		if end < 0 {
			end = len(s)
		}
		u := strings.TrimRight(s[:end], ".,;:!?)]")
		s = s[end:]
		if len(u) > len("https://") {
			p.addLink(Link{Href: u})
		}
	}
	if len(s) > 0 && indexURL(s) >= 0 {
		p.flaw(FlawTooManyLinks)
	}
}

// indexURL returns the index of the first URL start in s, or -1: one
// pass, so that text full of URLs costs no more than its length.
func indexURL(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] | 0x20 {
		case 'h':
			if hasPrefixFold(s[i:], "http://") || hasPrefixFold(s[i:], "https://") {
				return i
			}
		case 'w':
			// "www." starts a word.
			if hasPrefixFold(s[i:], "www.") && (i == 0 || isSpace(s[i-1]) || s[i-1] == '(' || s[i-1] == '<') {
				return i
			}
		}
	}
	return -1
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// hostOf returns the lower-cased host of a link, IDNs as Unicode; "" for
// a link without one.
func hostOf(href string) string {
	h := href
	if strings.HasPrefix(strings.ToLower(h), "www.") {
		h = "http://" + h
	}
	// Browsers read backslashes as slashes and ignore white space inside.
	h = strings.ReplaceAll(h, `\`, "/")
	u, err := url.Parse(h)
	var host string
	if err == nil {
		if u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ftp" {
			return ""
		}
		host = u.Hostname()
	} else {
		host = roughHost(h)
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" {
		return ""
	}
	if uni, err := idna.ToUnicode(host); err == nil {
		host = uni
	}
	return host
}

// roughHost reads the host of a URL net/url rejects (a bad escape, a
// space): what lies between "//" and the next "/", "?", "#" or ":".
func roughHost(h string) string {
	_, rest, ok := strings.Cut(h, "//")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		rest = rest[at+1:]
	}
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		rest = rest[:i]
	}
	return strings.TrimSpace(rest)
}
