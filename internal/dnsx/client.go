package dnsx

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// Transport parameters.
const (
	// ednsSize is the UDP payload size announced in EDNS(0): the value the
	// 2020 DNS flag day settled on to avoid IP fragmentation.
	ednsSize = 1232
	// udpBufSize is the read buffer for UDP replies. A datagram filling it
	// may have been cut, and is ignored.
	udpBufSize = 4096
	// maxStray bounds how many non-matching datagrams one attempt ignores.
	maxStray = 16

	defaultTimeout   = 2 * time.Second
	defaultAttempts  = 3
	maxAttempts      = 10
	defaultCacheSize = 1024
)

// errStray reports that an attempt saw only datagrams that were not the
// reply to its query.
var errStray = errors.New("too many stray replies")

// ClientConfig tunes a Client. The zero value gives the defaults.
type ClientConfig struct {
	// Timeout bounds one attempt: a UDP query, or its TCP retry after a
	// truncated reply. The context's deadline, when sooner, is shared out
	// between the remaining attempts. Default 2s.
	Timeout time.Duration
	// Attempts is how many times a query is sent when it times out or meets
	// a network error (never on an answer, such as SERVFAIL). Default 3,
	// at most 10.
	Attempts int
	// CacheSize is how many answers are cached; 0 means 1024, negative
	// disables the cache.
	CacheSize int
}

// Client is a Resolver that queries one configured recursive resolver. It
// is safe for concurrent use.
type Client struct {
	server   netip.AddrPort
	timeout  time.Duration
	attempts int
	cache    *cache // nil when disabled
	now      func() time.Time
}

var _ Resolver = (*Client)(nil)

// NewClient returns a Client for the resolver at server, an IP address and
// port ("127.0.0.1:53", "[::1]:53"). A host name is refused: resolving it
// would need a resolver.
func NewClient(server string, cfg ClientConfig) (*Client, error) {
	ap, err := netip.ParseAddrPort(server)
	if err != nil {
		return nil, fmt.Errorf("dnsx: resolver address must be ip:port: %w", err)
	}
	if ap.Port() == 0 {
		return nil, fmt.Errorf("dnsx: resolver address %q has port 0", server)
	}
	c := &Client{
		server:   netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()),
		timeout:  cfg.Timeout,
		attempts: cfg.Attempts,
		now:      time.Now,
	}
	if c.timeout <= 0 {
		c.timeout = defaultTimeout
	}
	if c.attempts <= 0 {
		c.attempts = defaultAttempts
	}
	c.attempts = min(c.attempts, maxAttempts)
	switch {
	case cfg.CacheSize == 0:
		c.cache = newCache(defaultCacheSize)
	case cfg.CacheSize > 0:
		c.cache = newCache(cfg.CacheSize)
	}
	return c, nil
}

// Server returns the address of the resolver c queries.
func (c *Client) Server() netip.AddrPort { return c.server }

// LookupMX implements Resolver.
func (c *Client) LookupMX(ctx context.Context, name string) ([]MX, Result, error) {
	a, res, err := c.lookup(ctx, name, dns.TypeMX)
	return mxFrom(a.records()), res, err
}

// LookupTXT implements Resolver. The slice is the cached answer's own.
func (c *Client) LookupTXT(ctx context.Context, name string) ([]string, Result, error) {
	a, res, err := c.lookup(ctx, name, dns.TypeTXT)
	return a.texts(), res, err
}

// LookupSRV implements Resolver.
func (c *Client) LookupSRV(ctx context.Context, name string) ([]SRV, Result, error) {
	a, res, err := c.lookup(ctx, name, dns.TypeSRV)
	return srvFrom(a.records()), res, err
}

// LookupIP implements Resolver. The A and AAAA queries are sent one after
// the other; both are usually answered from the resolver's cache.
func (c *Client) LookupIP(ctx context.Context, name string) ([]netip.Addr, Result, error) {
	// An invalid name fails both lookups with checkName's error, which
	// mergeIP returns.
	a4, r4, err4 := c.lookup(ctx, name, dns.TypeA)
	a6, r6, err6 := c.lookup(ctx, name, dns.TypeAAAA)
	return mergeIP(a4.addresses(), a6.addresses(), r4, r6, err4, err6)
}

// LookupAddr implements Resolver.
func (c *Client) LookupAddr(ctx context.Context, addr netip.Addr) ([]string, Result, error) {
	name, err := reverseName(addr)
	if err != nil {
		return nil, Result{}, err
	}
	a, res, err := c.lookup(ctx, name, dns.TypePTR)
	return ptrFrom(a.records()), res, err
}

// LookupTLSA implements Resolver.
func (c *Client) LookupTLSA(ctx context.Context, port int, proto, host string) ([]TLSA, Result, error) {
	name, err := tlsaName(port, proto, host)
	if err != nil {
		return nil, Result{}, err
	}
	a, res, err := c.lookup(ctx, name, dns.TypeTLSA)
	return tlsaFrom(a.records()), res, err
}

// LookupCNAME implements Resolver. It asks for the CNAME of each name in
// turn, since a resolver does not follow a chain when asked for CNAME.
func (c *Client) LookupCNAME(ctx context.Context, name string) (string, Result, error) {
	fqdn, err := checkName(name)
	if err != nil {
		return "", Result{}, err
	}
	return followCNAME(ctx, fqdn, func(ctx context.Context, name string) ([]dns.RR, Result, error) {
		a, res, err := c.lookup(ctx, name, dns.TypeCNAME)
		return a.records(), res, err
	})
}

// followCNAME walks a CNAME chain one query at a time.
func followCNAME(ctx context.Context, name string, cnameOf func(context.Context, string) ([]dns.RR, Result, error)) (string, Result, error) {
	authentic := true
	seen := map[string]bool{dns.CanonicalName(name): true}
	for hops := 0; ; hops++ {
		rrs, res, err := cnameOf(ctx, name)
		authentic = authentic && res.Authentic
		if err != nil {
			return "", Result{Authentic: authentic}, err
		}
		if len(rrs) == 0 {
			return name, Result{Authentic: authentic}, nil
		}
		cname, ok := rrs[0].(*dns.CNAME)
		if !ok || cname.Target == "" {
			return "", Result{}, fmt.Errorf("%w: malformed CNAME at %s", ErrTemporary, name)
		}
		target := cname.Target
		if hops == MaxCNAMEChain || seen[dns.CanonicalName(target)] {
			return "", Result{}, fmt.Errorf("%w: CNAME chain from %s too long or looping", ErrTemporary, name)
		}
		seen[dns.CanonicalName(target)] = true
		name = target
	}
}

// lookup asks for the records of qtype at name and applies the package's
// error conventions. A cache hit costs no allocation: the key is built
// without one for the usual lower-case names, and the answer carries its
// converted values and its NXDOMAIN error, made once when it arrived.
//
// The answer is nil when there is an error, and is shared with the cache:
// it must not be changed. (A pointer, so that a cache hit copies none of
// its hundred bytes.)
func (c *Client) lookup(ctx context.Context, name string, qtype uint16) (*answer, Result, error) {
	if c.cache != nil && name != "" {
		// Only valid names are ever cached, and a name is valid exactly
		// when the names sharing its key are (they differ in case or in
		// the final dot), so a hit needs no checkName.
		if a, ok := c.cache.get(cacheKey{name: cacheName(name), qtype: qtype}, c.now()); ok {
			return a.result(name)
		}
	}
	fqdn, err := checkName(name)
	if err != nil {
		return nil, Result{}, err
	}
	a, err := c.query(ctx, fqdn, qtype)
	if err != nil {
		return nil, Result{}, fmt.Errorf("%w: %s %s: %w", ErrTemporary, fqdn, dns.TypeToString[qtype], err)
	}
	return (&a).result(fqdn)
}

// query returns the answer for (name, qtype) from the server, retrying
// timeouts and network errors, and caches it.
func (c *Client) query(ctx context.Context, name string, qtype uint16) (answer, error) {
	msg := new(dns.Msg)
	msg.SetQuestion(name, qtype)
	msg.RecursionDesired = true
	// RFC 6840 section 5.7: AD in a query asks for AD in the reply; DO
	// (RFC 3225) asks the resolver to do DNSSEC for us.
	msg.AuthenticatedData = true
	msg.SetEdns0(ednsSize, true)

	var lastErr error
	for attempt := 0; attempt < c.attempts; attempt++ {
		if err := ctx.Err(); err != nil {
			return answer{}, err
		}
		msg.Id = dns.Id() // a fresh ID for every attempt, so late replies are strays
		a, err := c.exchange(ctx, msg, c.attemptTimeout(ctx, c.attempts-attempt))
		if err == nil {
			a.prepare(name, qtype)
			if c.cache != nil {
				c.cache.put(cacheKey{name: cacheName(name), qtype: qtype}, a, c.now())
			}
			return a, nil
		}
		if ctx.Err() != nil {
			return answer{}, ctx.Err()
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < time.Millisecond {
			// The last attempt's own deadline fired a hair before the
			// context's: report the deadline, not an I/O timeout.
			return answer{}, fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
		var rerr rcodeError
		if errors.As(err, &rerr) || errors.Is(err, errMalformed) {
			return answer{}, err
		}
		lastErr = err
	}
	return answer{}, fmt.Errorf("%d attempts: %w", c.attempts, lastErr)
}

// attemptTimeout shares the context's remaining time between the attempts
// left, so that a short deadline still allows a retry.
func (c *Client) attemptTimeout(ctx context.Context, left int) time.Duration {
	d := c.timeout
	if deadline, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(deadline)/time.Duration(left))
	}
	return d
}

// exchange sends msg over UDP and, if the reply is truncated, over TCP.
func (c *Client) exchange(ctx context.Context, msg *dns.Msg, timeout time.Duration) (answer, error) {
	packed, err := msg.Pack()
	if err != nil {
		return answer{}, fmt.Errorf("%w: packing query: %w", errMalformed, err)
	}
	a, truncated, err := c.exchangeUDP(ctx, msg, packed, timeout)
	if err != nil || !truncated {
		return a, err
	}
	a, truncated, err = c.exchangeTCP(ctx, msg, packed, timeout)
	if err == nil && truncated {
		return answer{}, fmt.Errorf("%w: truncated over TCP", errMalformed)
	}
	return a, err
}

// dial connects to the server and arranges for the connection to give up
// when ctx is done or timeout has passed.
func (c *Client) dial(ctx context.Context, network string, timeout time.Duration) (net.Conn, func(), error) {
	deadline := time.Now().Add(timeout)
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, network, c.server.String())
	if err != nil {
		return nil, nil, err
	}
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return conn, func() { stop(); conn.Close() }, nil
}

func (c *Client) exchangeUDP(ctx context.Context, msg *dns.Msg, packed []byte, timeout time.Duration) (answer, bool, error) {
	conn, done, err := c.dial(ctx, "udp", timeout)
	if err != nil {
		return answer{}, false, err
	}
	defer done()
	if _, err := conn.Write(packed); err != nil {
		return answer{}, false, err
	}
	buf := make([]byte, udpBufSize)
	for range maxStray {
		n, err := conn.Read(buf)
		if err != nil {
			return answer{}, false, err
		}
		if n == len(buf) {
			continue
		}
		a, truncated, err := processReply(msg, buf[:n])
		if errors.Is(err, errMismatch) {
			continue
		}
		return a, truncated, err
	}
	return answer{}, false, errStray
}

func (c *Client) exchangeTCP(ctx context.Context, msg *dns.Msg, packed []byte, timeout time.Duration) (answer, bool, error) {
	conn, done, err := c.dial(ctx, "tcp", timeout)
	if err != nil {
		return answer{}, false, err
	}
	defer done()
	// RFC 1035 section 4.2.2: each message is preceded by its length.
	out := make([]byte, 2+len(packed))
	binary.BigEndian.PutUint16(out, uint16(len(packed)))
	copy(out[2:], packed)
	if _, err := conn.Write(out); err != nil {
		return answer{}, false, err
	}
	var lenBuf [2]byte
	if _, err := io.ReadFull(conn, lenBuf[:]); err != nil {
		return answer{}, false, err
	}
	buf := make([]byte, binary.BigEndian.Uint16(lenBuf[:]))
	if _, err := io.ReadFull(conn, buf); err != nil {
		return answer{}, false, err
	}
	a, truncated, err := processReply(msg, buf)
	if errors.Is(err, errMismatch) {
		// Nothing can be injected into an established TCP stream from off
		// path: a mismatch means a broken server, not a stray.
		err = fmt.Errorf("%w: %w", errMalformed, err)
	}
	return a, truncated, err
}
