// Package dnstest runs a DNS server on loopback for tests, so that every
// Sealpost test states its DNS world as zone-file text and no test ever
// asks the system resolver.
//
// The server listens on 127.0.0.1 on one random port, over UDP and TCP, and
// behaves like a recursive resolver for its zone: it follows CNAME chains
// inside the zone and adds the whole chain to the answer, returns NXDOMAIN
// for names that neither own records nor have names below them, NODATA
// (NOERROR, no answer) for names that exist without the asked type, and an
// enclosing SOA record, if the zone has one, in the authority section of
// negative answers (RFC 2308 section 3). UDP replies larger than the
// query's EDNS(0) payload size (512 without EDNS) are truncated with the
// TC bit set, so large answers exercise the TCP fallback.
//
// The zone is parsed with miekg/dns's zone parser (RFC 1035 section 5):
// names are relative to the root unless $ORIGIN says otherwise, the default
// TTL is 300 s. Wildcards get no special meaning. Beside the records, the
// text may hold these directives, each on a line of its own:
//
//	$SERVFAIL name [type]  answer SERVFAIL for name (all types, or one)
//	$TIMEOUT name [type]   never answer for name, over UDP or TCP
//	$TRUNCATE name [type]  set TC on every UDP reply for name, forcing TCP
//	$SECURE suffix         set the AD bit on answers about names at or
//	                       below suffix (every name of a CNAME chain must
//	                       be), when the query set DO or AD
//
// Names in directives are absolute, with or without the trailing dot.
// $SECURE only sets the AD bit, as a validating resolver would after
// checking signatures: the server holds no keys and signs nothing, and no
// RRSIG, DNSKEY or NSEC records are made. That is enough for code that, like
// Sealpost, trusts the AD bit of its configured resolver; full DNSSEC
// signing is not implemented.
package dnstest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const (
	defaultTTL = 300
	// maxChain bounds CNAME chasing, so that loops in a zone end.
	maxChain = 16
	// serverEDNSSize is the payload size the server announces.
	serverEDNSSize = 1232
)

// Server is a running test DNS server.
type Server struct {
	addr    string
	udp     *dns.Server
	tcp     *dns.Server
	records map[string][]dns.RR // by canonical owner
	marks   map[mark]bool
	secure  []string
	queries atomic.Int64
	close   sync.Once
}

// mark is a directive on a name, for one type or (qtype 0) all.
type mark struct {
	kind  string
	name  string
	qtype uint16
}

// Start parses zone and serves it until the test ends. A zone that does not
// parse, or a server that cannot start, fails the test.
func Start(t testing.TB, zone string) *Server {
	t.Helper()
	s, err := New(zone)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// New parses zone and starts serving it, for uses outside a test function
// (examples, benchmarks' setup); the caller must Close the server.
func New(zone string) (*Server, error) {
	s, err := newServer(zone)
	if err != nil {
		return nil, fmt.Errorf("dnstest: %w", err)
	}
	if err := s.listen(); err != nil {
		return nil, fmt.Errorf("dnstest: %w", err)
	}
	return s, nil
}

// Addr returns the server's address, "127.0.0.1:port", the same for UDP
// and TCP.
func (s *Server) Addr() string { return s.addr }

// Queries returns how many queries the server has received, over both
// transports, including those it did not answer.
func (s *Server) Queries() int { return int(s.queries.Load()) }

// Close stops the server. Start arranges for it to be called when the test
// ends; calling it earlier makes the address unreachable, for tests of a
// dead resolver. Calling it more than once is harmless.
func (s *Server) Close() {
	s.close.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.udp.ShutdownContext(ctx)
		s.tcp.ShutdownContext(ctx)
	})
}

func newServer(zone string) (*Server, error) {
	s := &Server{records: make(map[string][]dns.RR), marks: make(map[mark]bool)}
	var text strings.Builder
	sc := bufio.NewScanner(strings.NewReader(zone))
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 && s.isDirective(fields[0]) {
			if err := s.directive(fields); err != nil {
				return nil, fmt.Errorf("zone line %d: %w", line, err)
			}
			text.WriteString("\n") // keep line numbers in parse errors right
			continue
		}
		text.WriteString(sc.Text() + "\n")
	}
	zp := dns.NewZoneParser(strings.NewReader(text.String()), ".", "zone")
	zp.SetDefaultTTL(defaultTTL)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		owner := dns.CanonicalName(rr.Header().Name)
		s.records[owner] = append(s.records[owner], rr)
	}
	if err := zp.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) isDirective(word string) bool {
	switch strings.ToUpper(word) {
	case "$SERVFAIL", "$TIMEOUT", "$TRUNCATE", "$SECURE":
		return true
	}
	return false
}

func (s *Server) directive(fields []string) error {
	kind := strings.ToUpper(fields[0])
	if len(fields) < 2 || len(fields) > 3 || kind == "$SECURE" && len(fields) != 2 {
		return fmt.Errorf("%s: wrong number of arguments", kind)
	}
	name := dns.CanonicalName(fields[1])
	if _, ok := dns.IsDomainName(name); !ok {
		return fmt.Errorf("%s: invalid name %q", kind, fields[1])
	}
	if kind == "$SECURE" {
		s.secure = append(s.secure, name)
		return nil
	}
	var qtype uint16
	if len(fields) == 3 {
		t, ok := dns.StringToType[strings.ToUpper(fields[2])]
		if !ok {
			return fmt.Errorf("%s: unknown type %q", kind, fields[2])
		}
		qtype = t
	}
	s.marks[mark{kind: kind, name: name, qtype: qtype}] = true
	return nil
}

func (s *Server) marked(kind, name string, qtype uint16) bool {
	return s.marks[mark{kind, name, qtype}] || s.marks[mark{kind, name, 0}]
}

// listen binds TCP on a random port, then UDP on the same port; another
// process may hold that UDP port, so it tries a few times.
func (s *Server) listen() error {
	var lastErr error
	for range 10 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		pc, err := net.ListenPacket("udp", l.Addr().String())
		if err != nil {
			l.Close()
			lastErr = err
			continue
		}
		s.addr = l.Addr().String()
		s.udp = &dns.Server{PacketConn: pc, Handler: s.handler("udp")}
		s.tcp = &dns.Server{Listener: l, Handler: s.handler("tcp")}
		return errors.Join(s.start(s.udp), s.start(s.tcp))
	}
	return fmt.Errorf("no port free for both UDP and TCP: %w", lastErr)
}

func (s *Server) start(srv *dns.Server) error {
	started := make(chan struct{})
	failed := make(chan error, 1)
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { failed <- srv.ActivateAndServe() }()
	select {
	case <-started:
		return nil
	case err := <-failed:
		return err
	case <-time.After(5 * time.Second):
		return errors.New("server did not start")
	}
}

func (s *Server) handler(network string) dns.Handler {
	return dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		s.queries.Add(1)
		reply := s.answer(network, req)
		if reply != nil {
			w.WriteMsg(reply)
		}
	})
}

// answer builds the reply to req, or nil for no reply at all.
func (s *Server) answer(network string, req *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	if len(req.Question) != 1 || req.Opcode != dns.OpcodeQuery {
		return m.SetRcode(req, dns.RcodeFormatError)
	}
	q := req.Question[0]
	name := dns.CanonicalName(q.Name)
	if s.marked("$TIMEOUT", name, q.Qtype) {
		return nil
	}
	m.SetReply(req)
	m.RecursionAvailable = true
	opt := req.IsEdns0()
	if opt != nil {
		m.SetEdns0(serverEDNSSize, opt.Do())
	}
	if s.marked("$SERVFAIL", name, q.Qtype) {
		m.Rcode = dns.RcodeServerFailure
		return m
	}
	chain := s.resolve(m, q)
	if (opt != nil && opt.Do() || req.AuthenticatedData) && s.allSecure(chain) {
		m.AuthenticatedData = true
	}
	if network == "udp" {
		if s.marked("$TRUNCATE", name, q.Qtype) {
			m.Answer, m.Ns, m.Truncated = nil, nil, true
		} else {
			size := dns.MinMsgSize
			if opt != nil {
				size = int(opt.UDPSize())
			}
			m.Truncate(size)
		}
	}
	return m
}

// resolve fills m's answer, authority and RCODE for q, chasing CNAMEs, and
// returns the names of the chain.
func (s *Server) resolve(m *dns.Msg, q dns.Question) []string {
	name := dns.CanonicalName(q.Name)
	chain := []string{name}
	seen := map[string]bool{}
	for range maxChain {
		seen[name] = true
		var cname *dns.CNAME
		found := false
		for _, rr := range s.records[name] {
			if rr.Header().Rrtype == q.Qtype || q.Qtype == dns.TypeANY {
				m.Answer = append(m.Answer, dns.Copy(rr))
				found = true
			} else if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		if found || cname == nil {
			break
		}
		m.Answer = append(m.Answer, dns.Copy(cname))
		name = dns.CanonicalName(cname.Target)
		chain = append(chain, name)
		if seen[name] {
			break // the client is left to notice the loop
		}
	}
	if len(s.records[name]) == 0 && !s.hasBelow(name) {
		m.Rcode = dns.RcodeNameError
	}
	if !hasType(m.Answer, name, q.Qtype) {
		if soa := s.enclosingSOA(name); soa != nil {
			m.Ns = append(m.Ns, soa)
		}
	}
	return chain
}

func hasType(rrs []dns.RR, name string, qtype uint16) bool {
	for _, rr := range rrs {
		if rr.Header().Rrtype == qtype && dns.CanonicalName(rr.Header().Name) == name {
			return true
		}
	}
	return false
}

func (s *Server) hasBelow(name string) bool {
	for owner := range s.records {
		if strings.HasSuffix(owner, "."+name) || name == "." {
			return true
		}
	}
	return false
}

func (s *Server) enclosingSOA(name string) dns.RR {
	for n := name; ; {
		for _, rr := range s.records[n] {
			if rr.Header().Rrtype == dns.TypeSOA {
				return dns.Copy(rr)
			}
		}
		if n == "." {
			return nil
		}
		_, rest, _ := strings.Cut(n, ".")
		if rest == "" {
			rest = "."
		}
		n = rest
	}
}

func (s *Server) allSecure(chain []string) bool {
	for _, name := range chain {
		ok := false
		for _, suffix := range s.secure {
			if dns.IsSubDomain(suffix, name) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return len(s.secure) > 0
}
