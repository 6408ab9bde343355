package web

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
)

// Outlook finds its settings with the Autodiscover protocol in its plain
// XML form (Microsoft's [MS-OXDSCLI]): it POSTs a request naming the
// user's address to /autodiscover/autodiscover.xml on the domain,
// autodiscover.DOMAIN, or the host an _autodiscover._tcp SRV record
// names, and reads back the IMAP, POP3 and SMTP servers. Only the
// "outlook" response schema is answered; Exchange's mobile schema asks
// for ActiveSync, which Sealpost does not speak.

const (
	autodiscoverResponseNS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
	outlookSchema          = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
	// maxAutodiscoverRequest bounds the request body: a real one is a few
	// hundred bytes.
	maxAutodiscoverRequest = 16 << 10
)

type autodiscoverRequest struct {
	XMLName xml.Name `xml:"Autodiscover"`
	Request struct {
		EMailAddress             string
		AcceptableResponseSchema string
	}
}

type autodiscoverResponse struct {
	XMLName  xml.Name `xml:"Autodiscover"`
	NS       string   `xml:"xmlns,attr"`
	Response struct {
		NS      string `xml:"xmlns,attr"`
		Account struct {
			AccountType string
			Action      string
			Protocol    []autodiscoverProtocol
		}
	}
}

type autodiscoverProtocol struct {
	Type           string
	Server         string
	Port           int
	LoginName      string
	DomainRequired string `xml:",omitempty"`
	SPA            string
	SSL            string
	Encryption     string `xml:",omitempty"`
	AuthRequired   string
}

// serveAutodiscover answers for any address of a hosted domain, whether or
// not it has an account, so that the reply tells nothing about which
// accounts exist.
func (m *MailDomains) serveAutodiscover(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAutodiscoverRequest))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	var req autodiscoverRequest
	if err != nil || xml.Unmarshal(body, &req) != nil {
		http.Error(w, "not an Autodiscover request", http.StatusBadRequest)
		return
	}
	if schema := strings.TrimSpace(req.Request.AcceptableResponseSchema); schema != "" && schema != outlookSchema {
		http.Error(w, "only the outlook response schema is offered", http.StatusBadRequest)
		return
	}
	address := strings.TrimSpace(req.Request.EMailAddress)
	at := strings.LastIndexByte(address, '@')
	domain := strings.ToLower(strings.TrimSuffix(address[at+1:], "."))
	if at <= 0 || domain == "" || m.Hosted == nil || !m.Hosted(r.Context(), domain) {
		http.NotFound(w, r)
		return
	}
	var resp autodiscoverResponse
	resp.NS, resp.Response.NS = autodiscoverResponseNS, outlookSchema
	acct := &resp.Response.Account
	acct.AccountType, acct.Action = "email", "settings"
	// Implicit TLS when the listener is on, else STARTTLS (Encryption TLS),
	// which Sealpost requires before any login.
	add := func(typ string, tlsPort, starttlsPort int) {
		p := autodiscoverProtocol{Type: typ, Server: m.Hostname, LoginName: address, SPA: "off", AuthRequired: "on"}
		switch {
		case tlsPort != 0:
			p.Port, p.SSL = tlsPort, "on"
		case starttlsPort != 0:
			p.Port, p.SSL, p.Encryption = starttlsPort, "on", "TLS"
		default:
			return
		}
		acct.Protocol = append(acct.Protocol, p)
	}
	add("IMAP", m.IMAPS, m.IMAP)
	add("POP3", m.POP3S, m.POP3)
	add("SMTP", m.Submissions, m.Submission)
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	_, _ = w.Write([]byte(xml.Header))
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	_ = enc.Encode(resp)
}
