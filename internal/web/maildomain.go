package web

import (
	"context"
	"encoding/xml"
	"net"
	"net/http"
	"strings"
)

// MailDomains is what the HTTPS listener serves for the hosted mail
// domains: the MTA-STS policy at https://mta-sts.DOMAIN/.well-known/
// mta-sts.txt (RFC 8461 section 3.3) and the mail client configuration
// at https://autoconfig.DOMAIN/mail/config-v1.1.xml (Thunderbird's
// autoconfig format, also read by other clients) and by Autodiscover
// (autodiscover.go, for Outlook).
type MailDomains struct {
	// Hosted reports whether a domain is served here.
	Hosted func(ctx context.Context, domain string) bool
	// Policy is the MTA-STS policy file of every hosted domain.
	Policy string
	// Hostname is the server clients connect to; the ports are those of
	// the listeners, 0 when off.
	Hostname                  string
	IMAPS, POP3S, Submissions int
	IMAP, POP3, Submission    int
}

// domainOf returns the domain a request is for: the part of its host
// after prefix ("mta-sts.", "autoconfig."), if that domain is hosted.
func (m *MailDomains) domainOf(r *http.Request, prefix string) (string, bool) {
	host := strings.ToLower(r.Host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	domain, ok := strings.CutPrefix(strings.TrimSuffix(host, "."), prefix)
	if !ok || domain == "" || m.Hosted == nil || !m.Hosted(r.Context(), domain) {
		return "", false
	}
	return domain, true
}

func (m *MailDomains) servePolicy(w http.ResponseWriter, r *http.Request) {
	if _, ok := m.domainOf(r, "mta-sts."); !ok || m.Policy == "" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=3600")
	_, _ = w.Write([]byte(m.Policy))
}

// autoconfig is the clientConfig document (version 1.1).
type autoconfig struct {
	XMLName  xml.Name `xml:"clientConfig"`
	Version  string   `xml:"version,attr"`
	Provider struct {
		ID       string   `xml:"id,attr"`
		Domain   string   `xml:"domain"`
		Name     string   `xml:"displayName"`
		Incoming []server `xml:"incomingServer"`
		Outgoing []server `xml:"outgoingServer"`
	} `xml:"emailProvider"`
}

type server struct {
	Type     string `xml:"type,attr"`
	Hostname string `xml:"hostname"`
	Port     int    `xml:"port"`
	Socket   string `xml:"socketType"`
	Username string `xml:"username"`
	Auth     string `xml:"authentication"`
}

func (m *MailDomains) serveAutoconfig(w http.ResponseWriter, r *http.Request) {
	domain, ok := m.domainOf(r, "autoconfig.")
	if !ok {
		http.NotFound(w, r)
		return
	}
	var c autoconfig
	c.Version = "1.1"
	c.Provider.ID, c.Provider.Domain, c.Provider.Name = domain, domain, domain+" mail"
	add := func(list *[]server, typ string, port int, socket string) {
		if port != 0 {
			// Passwords go only over TLS: implicit TLS, or STARTTLS, which
			// Sealpost requires before any login.
			*list = append(*list, server{Type: typ, Hostname: m.Hostname, Port: port, Socket: socket,
				Username: "%EMAILADDRESS%", Auth: "password-cleartext"})
		}
	}
	add(&c.Provider.Incoming, "imap", m.IMAPS, "SSL")
	add(&c.Provider.Incoming, "imap", m.IMAP, "STARTTLS")
	add(&c.Provider.Incoming, "pop3", m.POP3S, "SSL")
	add(&c.Provider.Incoming, "pop3", m.POP3, "STARTTLS")
	add(&c.Provider.Outgoing, "smtp", m.Submissions, "SSL")
	add(&c.Provider.Outgoing, "smtp", m.Submission, "STARTTLS")
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	_, _ = w.Write([]byte(xml.Header))
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	_ = enc.Encode(c)
}
