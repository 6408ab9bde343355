package mailbench

import (
	"fmt"
	"strings"
	"time"
)

// generator makes the messages of a run: each has its own Message-ID, and
// its sender's domain and its recipient follow the message's number.
type generator struct {
	local, domain string
	domains       int
	to            []string
	size          int
	date          string
	run           int64 // makes Message-IDs unique across runs
}

func newGenerator(cfg Config) *generator {
	local, domain, ok := strings.Cut(cfg.From, "@")
	if !ok {
		local, domain = cfg.From, "bench.test"
	}
	now := time.Now()
	return &generator{
		local:   local,
		domain:  domain,
		domains: cfg.SenderDomains,
		to:      cfg.To,
		size:    cfg.Size,
		date:    now.Format(time.RFC1123Z),
		run:     now.UnixNano(),
	}
}

// sender returns message i's reverse-path: with several sender domains,
// "local@dN.domain" for N = i modulo their number.
func (g *generator) sender(i int) string {
	if g.domains <= 1 {
		return g.local + "@" + g.domain
	}
	return fmt.Sprintf("%s@d%d.%s", g.local, i%g.domains, g.domain)
}

// message returns message i's envelope and text, CRLF line endings, size
// octets long unless its header alone is longer.
func (g *generator) message(i int) (from, to string, text []byte) {
	from, to = g.sender(i), g.to[i%len(g.to)]
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: mailbench message %d\r\nDate: %s\r\n"+
		"Message-ID: <%d.%x@%s>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n",
		from, to, i, g.date, i, g.run, g.domain)
	text = make([]byte, 0, max(g.size, b.Len()))
	text = append(text, b.String()...)
	return from, to, appendFiller(text, g.size-len(text))
}

// appendFiller appends n octets of text in CRLF-terminated lines of at most
// 80 octets (fewer than n when n is 1 or 2, too short for a line).
func appendFiller(b []byte, n int) []byte {
	const line = 78 // 76 characters and CRLF
	if n < 3 {
		return b
	}
	lines, rest := n/line, n%line
	for k := range lines {
		width := line - 2
		if k == 0 && rest > 0 && rest < 3 {
			width += rest // too little left for a line of its own
			rest = 0
		}
		for j := range width {
			b = append(b, 'a'+byte((k+j)%26))
		}
		b = append(b, '\r', '\n')
	}
	if rest >= 3 {
		for j := range rest - 2 {
			b = append(b, 'a'+byte(j%26))
		}
		b = append(b, '\r', '\n')
	}
	return b
}
