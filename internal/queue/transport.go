package queue

// RemoteTransport: delivery to other domains' mail exchangers.
//
// Implemented, by section:
//   - RFC 5321 section 5.1: MX records in order of preference, equal
//     preferences in random order, and the domain's own A/AAAA records as
//     an implicit MX when it has none; every address of a host is tried
//     before the next host, up to MaxHosts hosts and MaxAddresses
//     addresses per attempt.
//   - RFC 7505: a null MX fails delivery at once (5.1.10).
//   - RFC 7672 (DANE for SMTP): TLSA records of MX hosts found through an
//     authentic MX answer decide the TLS requirement and the certificate
//     check (package dane). The TLSA records are those of port 25 whatever
//     Port says: Port only moves the connection, for tests.
//   - RFC 8461 (MTA-STS): the recipient domain's policy, fetched once per
//     delivery attempt through the mtasts.Client (which caches it); in
//     enforce mode only matching MX hosts are used, over TLS with a valid
//     certificate for the MX host name; in testing mode failures are only
//     reported. DANE, where it applies to a host, takes precedence (RFC 8461
//     section 2).
//   - RFC 3207: opportunistic STARTTLS otherwise, without certificate
//     checks; plain text only when the server does not offer STARTTLS, or
//     on a new connection after a failed opportunistic handshake (a server
//     with a broken TLS stack would otherwise never get mail, and a
//     network attacker could as well strip STARTTLS from the EHLO reply).
//     Never when DANE or MTA-STS requires TLS.
//   - RFC 8689 (REQUIRETLS): such messages go only to hosts whose
//     certificate DANE or MTA-STS (enforce or testing, then enforced)
//     authenticates, and only to servers that offer REQUIRETLS after TLS
//     (section 4.2.1). When no MX host of the domain could ever meet that,
//     delivery fails permanently with 5.7.10 (no authenticated TLS
//     possible) or 5.7.30 (REQUIRETLS not offered), as section 4.2.1 asks
//     ("MUST NOT transmit"); failures that may pass (a refused connection,
//     a failed handshake, a DNS error, an MTA-STS policy that a domain
//     publishes but that could not be fetched) are retried as usual.
//     Delivery reports about such messages (from the null sender) carry
//     REQUIRETLS too, but go to an authenticated next hop that does not
//     offer it without the parameter (section 5: the requirement "SHOULD
//     NOT cause a bounce message to be discarded").
//   - RFC 8460 (TLS reporting): the outcome of every TLS attempt is handed
//     to OnTLSResult, with the result types of section 4.3 and what the
//     report's policy and failure details need (section 4.4): the policy
//     type, its policy-string (MTA-STS policy lines, rebuilt from the
//     parsed policy, or TLSA records in presentation form), its mx-host,
//     and the sending and receiving addresses.
//
// Left out: address-literal domains, skipping MX hosts that are this
// server itself (RFC 5321 section 5.1; the operator must not list Sealpost
// as a lower-preference MX of a domain it relays for), filtering of
// private or loopback addresses an MX host resolves to, reusing
// connections between messages, BDAT, and batching recipients beyond one
// transaction per host (recipients a server defers with 452 are tried at
// the next attempt).

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/mtasts"
	"sealpost.dev/sealpost/internal/smtpclient"
	"sealpost.dev/sealpost/internal/store"
)

// RemoteTransport delivers messages to the mail exchangers of their
// recipient domains over SMTP. Its fields must be set before use and not
// changed afterwards; it is then safe for concurrent use.
type RemoteTransport struct {
	// Resolver answers every DNS question (MX, A/AAAA, TLSA). Required.
	// DANE applies only if it reports authentic answers.
	Resolver dnsx.Resolver
	// Hostname is sent with EHLO: this server's fully qualified name.
	// Required.
	Hostname string
	// MTASTS finds recipient domains' MTA-STS policies; nil disables
	// MTA-STS.
	MTASTS *mtasts.Client
	// Port is the remote port, default 25. It is a test setting, so that
	// tests can run remote servers on loopback without port 25.
	Port int
	// RootCAs are the trust anchors for MX certificates that MTA-STS
	// requires to be valid; nil means the system's roots.
	RootCAs *x509.CertPool
	// Dial makes connections; nil means a net.Dialer. A test hook.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Timeouts bound each step of an SMTP session; zero fields take
	// smtpclient's defaults (RFC 5321 section 4.5.3.2).
	Timeouts smtpclient.Timeouts
	// SessionTimeout bounds one SMTP session as a whole, from connecting
	// to QUIT, since the step timeouts add up to hours against a server
	// that answers each step just in time; default 15 minutes. The
	// caller's context bounds the whole delivery.
	SessionTimeout time.Duration
	// MaxHosts bounds the MX hosts tried per attempt; default 10.
	MaxHosts int
	// MaxAddresses bounds the addresses connected to per attempt,
	// over all hosts; default 10.
	MaxAddresses int
	// Logger receives one line per connection attempt; nil discards.
	Logger *slog.Logger
	// OnTLSResult, when set, is called with the outcome of every TLS
	// policy decision and handshake, for TLS reporting (RFC 8460). It may be
	// called from several deliveries at once.
	OnTLSResult func(TLSResult)
}

// TLSPolicyType names the policy a TLS result was judged under, with the
// policy-type values of RFC 8460 section 4.4.
type TLSPolicyType string

// The policy types of RFC 8460 section 4.4.
const (
	TLSPolicyDANE TLSPolicyType = "tlsa"
	TLSPolicySTS  TLSPolicyType = "sts"
	TLSPolicyNone TLSPolicyType = "no-policy-found"
)

// name is the policy's name for diagnostics.
func (p TLSPolicyType) name() string {
	switch p {
	case TLSPolicyDANE:
		return "DANE"
	case TLSPolicySTS:
		return "MTA-STS"
	}
	return "TLS"
}

// Default bounds of one delivery attempt.
const (
	defaultMaxHosts       = 10
	defaultMaxAddrs       = 10
	defaultSessionTimeout = 15 * time.Minute
)

// TLSResult is the outcome of one TLS attempt, or of a policy that stopped
// delivery before one.
type TLSResult struct {
	// Domain is the recipient domain, the policy domain of RFC 8460.
	Domain string
	// MXHost is the MX host name without trailing dot; "" for failures
	// that concern the whole domain (fetching its MTA-STS policy).
	MXHost string
	// Addr is the address connected to, if any.
	Addr netip.AddrPort
	// LocalAddr is the address the session came from, the sending-mta-ip
	// of RFC 8460 section 4.4; invalid when no connection was made.
	LocalAddr netip.Addr
	// Policy is the policy the result was judged under.
	Policy TLSPolicyType
	// PolicyStrings is the policy as section 4.4's policy-string gives
	// it: the lines of the MTA-STS policy, or the MX host's usable TLSA
	// records in presentation form ("3 1 1 0C72AC70..."); nil for
	// no-policy-found and for a policy that could not be had.
	PolicyStrings []string
	// PolicyMX is the policy's mx-host: the mx patterns of the MTA-STS
	// policy, or the MX host whose TLSA records applied; nil for
	// no-policy-found and a domain-wide failure.
	PolicyMX []string
	// Success is true when TLS was negotiated as the policy required.
	Success bool
	// FailureReason is the result type of RFC 8460 section 4.3
	// ("starttls-not-supported", "certificate-host-mismatch",
	// "certificate-expired", "certificate-not-trusted",
	// "validation-failure", "tlsa-invalid", "dnssec-invalid",
	// "sts-policy-fetch-error", "sts-policy-invalid", ...); "" on success.
	FailureReason string
	// Detail is a human-readable account of the failure.
	Detail string
}

// Deliver implements Transport.
func (t *RemoteTransport) Deliver(ctx context.Context, req Request) []Result {
	d := &delivery{t: t, req: req, domain: strings.ToLower(strings.TrimSuffix(req.Domain, ".")),
		results: map[string]Result{}, log: t.logger().With("domain", req.Domain, "id", req.Item.ID)}
	d.run(ctx)
	out := make([]Result, 0, len(req.Recipients))
	for _, rc := range req.Recipients {
		r, ok := d.results[rc.Address]
		if !ok {
			r = d.pendingResult()
			r.Recipient = rc.Address
		}
		out = append(out, r)
	}
	return out
}

func (t *RemoteTransport) logger() *slog.Logger {
	if t.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return t.Logger
}

func (t *RemoteTransport) port() int {
	if t.Port > 0 {
		return t.Port
	}
	return 25
}

func (t *RemoteTransport) report(r TLSResult) {
	if t.OnTLSResult != nil {
		t.OnTLSResult(r)
	}
}

// failure is why a host, or the whole delivery, did not get the message.
type failure struct {
	status    Status
	enhanced  string
	diag      string
	remoteMTA string
}

// delivery is the state of one Deliver call.
type delivery struct {
	t       *RemoteTransport
	req     Request
	domain  string
	log     *slog.Logger
	results map[string]Result // recipients answered so far
	addrs   int               // addresses connected to so far
	// last is the most recent failure that moved on to another host;
	// allPerm says whether every such failure was permanent.
	last    *failure
	allPerm bool
	// stsUnknown says the domain publishes an MTA-STS record but its
	// policy could not be had: a REQUIRETLS message must wait for it
	// rather than fail for want of an authenticated host.
	stsUnknown error
}

// pendingResult is the result for a recipient no server answered.
func (d *delivery) pendingResult() Result {
	switch {
	case d.last == nil:
		return Result{Status: TempFail, Enhanced: "4.4.0", Diagnostic: "not attempted"}
	case d.allPerm:
		return Result{Status: PermFail, Enhanced: d.last.enhanced, Diagnostic: d.last.diag, RemoteMTA: d.last.remoteMTA}
	}
	enh := d.last.enhanced
	if enh == "" || enh[0] != '4' {
		enh = "4" + strings.TrimLeft(enh, "0123456789")
		if enh == "4" {
			enh = "4.4.0"
		}
	}
	return Result{Status: TempFail, Enhanced: enh, Diagnostic: d.last.diag, RemoteMTA: d.last.remoteMTA}
}

// fail records a failure that moves delivery on to the next address or
// host.
func (d *delivery) fail(f failure) {
	if d.last == nil {
		d.allPerm = true
	}
	d.last = &f
	d.allPerm = d.allPerm && f.status == PermFail
	d.log.Info("delivery attempt failed", "detail", f.diag, "code", f.enhanced)
}

// failAll answers every pending recipient with f.
func (d *delivery) failAll(f failure) {
	for _, rc := range d.pending() {
		d.results[rc.Address] = Result{Recipient: rc.Address, Status: f.status, Enhanced: f.enhanced,
			Diagnostic: f.diag, RemoteMTA: f.remoteMTA}
	}
}

// pending returns the recipients not answered yet.
func (d *delivery) pending() []store.QueueRecipient {
	var out []store.QueueRecipient
	for _, rc := range d.req.Recipients {
		if _, ok := d.results[rc.Address]; !ok {
			out = append(out, rc)
		}
	}
	return out
}

func (d *delivery) run(ctx context.Context) {
	if d.t.Resolver == nil || d.t.Hostname == "" {
		d.failAll(failure{status: TempFail, enhanced: "4.3.5", diag: "outbound delivery is not configured (Resolver and Hostname are required)"})
		return
	}
	hosts, authentic, f := d.route(ctx)
	if f != nil {
		d.failAll(*f)
		return
	}
	sts, f := d.stsPolicy(ctx)
	if f != nil {
		d.failAll(*f)
		return
	}
	for _, host := range hosts {
		if len(d.pending()) == 0 || ctx.Err() != nil || d.addrs >= d.maxAddrs() {
			break
		}
		d.tryHost(ctx, host, authentic, sts)
	}
	if ctx.Err() != nil && len(d.pending()) > 0 {
		d.fail(failure{status: TempFail, enhanced: "4.4.0", diag: "delivery interrupted: " + ctx.Err().Error()})
	}
}

func (d *delivery) sessionTimeout() time.Duration {
	if d.t.SessionTimeout > 0 {
		return d.t.SessionTimeout
	}
	return defaultSessionTimeout
}

func (d *delivery) maxAddrs() int {
	if d.t.MaxAddresses > 0 {
		return d.t.MaxAddresses
	}
	return defaultMaxAddrs
}

// tryHost tries the addresses of one MX host until one takes the
// transaction.
func (d *delivery) tryHost(ctx context.Context, host string, authentic bool, sts *mtasts.Policy) {
	name := strings.TrimSuffix(host, ".")
	pol, f := d.hostPolicy(ctx, name, authentic, sts)
	if f != nil {
		d.fail(*f)
		return
	}
	if d.req.Item.RequireTLS && !pol.verified {
		if d.stsUnknown != nil {
			d.fail(failure{status: TempFail, enhanced: "4.7.10",
				diag: fmt.Sprintf("%s: REQUIRETLS: DANE does not authenticate this MX host and the MTA-STS policy of %s is unknown: %v",
					name, d.domain, d.stsUnknown)})
			return
		}
		d.fail(failure{status: PermFail, enhanced: "5.7.10",
			diag: fmt.Sprintf("%s: REQUIRETLS: neither DANE nor MTA-STS authenticates this MX host", name)})
		return
	}
	ips, _, err := d.t.Resolver.LookupIP(ctx, name)
	if len(ips) == 0 {
		switch {
		case err == nil || errors.Is(err, dnsx.ErrNotFound):
			d.fail(failure{status: TempFail, enhanced: "4.4.4", diag: fmt.Sprintf("%s: MX host has no address", name)})
		default:
			d.fail(failure{status: TempFail, enhanced: "4.4.3", diag: fmt.Sprintf("%s: resolving the MX host: %v", name, err)})
		}
		return
	}
	for _, ip := range ips {
		if ip.IsUnspecified() || !ip.IsValid() {
			continue
		}
		if len(d.pending()) == 0 || ctx.Err() != nil || d.addrs >= d.maxAddrs() {
			return
		}
		d.addrs++
		addr := netip.AddrPortFrom(ip.Unmap(), uint16(d.t.port()))
		if d.tryAddr(ctx, name, addr, pol) {
			return
		}
	}
}

// tryAddr runs one session with addr, falling back to plain text on a new
// connection only where the policy is opportunistic. It reports whether the
// server answered the transaction, so that no other host is tried.
func (d *delivery) tryAddr(ctx context.Context, host string, addr netip.AddrPort, pol tlsPolicy) bool {
	answered, tlsFailed := d.session(ctx, host, addr, pol, false)
	if answered || !tlsFailed || pol.required {
		return answered
	}
	answered, _ = d.session(ctx, host, addr, pol, true)
	return answered
}

// session connects to addr and delivers to the pending recipients.
// tlsFailed reports an opportunistic handshake that failed.
func (d *delivery) session(ctx context.Context, host string, addr netip.AddrPort, pol tlsPolicy, plain bool) (answered, tlsFailed bool) {
	where := fmt.Sprintf("%s [%s]", host, addr.Addr())
	ctx, cancel := context.WithTimeout(ctx, d.sessionTimeout())
	defer cancel()
	c, err := smtpclient.Dial(ctx, addr.String(), smtpclient.Options{
		LocalName: d.t.Hostname, Timeouts: d.t.Timeouts, Dial: d.t.Dial})
	if err != nil {
		d.fail(hostFailure(where, host, err))
		return false, false
	}
	defer c.Close()
	if !plain {
		ok, failed := d.startTLS(ctx, c, host, addr, pol)
		if !ok {
			return false, failed
		}
	}
	rcpts := d.pending()
	body, err := d.req.Open(ctx)
	if err != nil {
		d.fail(failure{status: TempFail, enhanced: "4.3.0", diag: fmt.Sprintf("opening the message: %v", err)})
		return false, false
	}
	defer body.Close()
	if ctx.Err() != nil {
		// The attempt ended (its time is up, or the queue lost its claim
		// on the message): no transaction may start now.
		d.fail(failure{status: TempFail, enhanced: "4.4.0", remoteMTA: host,
			diag: fmt.Sprintf("%s: not sent: %v", where, context.Cause(ctx))})
		return false, false
	}
	rcptErrs, err := c.Send(ctx, d.envelope(rcpts, c.Extensions().Has("REQUIRETLS")), body)
	var se *smtpclient.Error
	if err != nil && errors.As(err, &se) && (se.Op == "RCPT" || se.Op == "MAIL" && (se.Local || se.Temporary())) {
		// Nothing was accepted: another host may do better.
		d.fail(hostFailure(where, host, err))
		_ = c.Quit(ctx)
		return false, false
	}
	for i, rc := range rcpts {
		d.results[rc.Address] = rcptResult(rc.Address, where, host, rcptErrs[i])
	}
	_ = c.Quit(ctx)
	return true, false
}

// startTLS applies the host's TLS policy to a new session. ok says the
// session may go on; failedOpportunistic that an opportunistic handshake
// failed and a plain-text retry is allowed.
func (d *delivery) startTLS(ctx context.Context, c *smtpclient.Client, host string, addr netip.AddrPort, pol tlsPolicy) (ok, failedOpportunistic bool) {
	where := fmt.Sprintf("%s [%s]", host, addr.Addr())
	res := pol.result(d.domain, host)
	res.Addr = addr
	if la, ok := c.LocalAddr().(*net.TCPAddr); ok {
		res.LocalAddr = la.AddrPort().Addr().Unmap()
	}
	err := c.StartTLS(ctx, pol.config)
	switch {
	case errors.Is(err, smtpclient.ErrNoSTARTTLS):
		res.FailureReason, res.Detail = "starttls-not-supported", "the server does not offer STARTTLS"
		d.t.report(res)
		if pol.required {
			d.fail(failure{status: TempFail, enhanced: "4.7.5", remoteMTA: host,
				diag: fmt.Sprintf("%s: %s policy requires TLS, but the server does not offer STARTTLS", where, pol.kind.name())})
			return false, false
		}
		return true, false
	case err != nil:
		res.FailureReason, res.Detail = tlsFailureReason(err), err.Error()
		d.t.report(res)
		f := hostFailure(where, host, err)
		f.enhanced = "4.7.5"
		if pol.required {
			f.diag = fmt.Sprintf("%s: %s policy requires TLS: %v", where, pol.kind.name(), err)
		}
		d.fail(f)
		return false, !pol.required
	}
	if pol.stsTesting {
		// MTA-STS testing mode: check as enforce would, report, deliver
		// anyway (RFC 8461 section 5).
		st, _ := c.TLSConnectionState()
		if err := verifyPKIX(st, host, d.t.RootCAs); err != nil {
			res.FailureReason, res.Detail = tlsFailureReason(err), err.Error()
			d.t.report(res)
			d.log.Info("MTA-STS testing policy would refuse this host", "mx", host, "err", err)
			return true, false
		}
	}
	res.Success = true
	d.t.report(res)
	return true, false
}

// envelope is the transaction for rcpts. offered says whether the server
// offers REQUIRETLS.
func (d *delivery) envelope(rcpts []store.QueueRecipient, offered bool) smtpclient.Envelope {
	it := d.req.Item
	requireTLS := it.RequireTLS
	if it.From == "" && !offered {
		// A delivery report about a REQUIRETLS message: the host was
		// authenticated (tryHost checked), and RFC 8689 section 5 asks
		// that the report not be lost for want of REQUIRETLS at the next
		// hop.
		requireTLS = false
	}
	env := smtpclient.Envelope{From: it.From, Size: it.Size, BodyType: it.BodyType, SMTPUTF8: it.SMTPUTF8,
		RequireTLS: requireTLS, Ret: it.Ret, EnvID: it.EnvID}
	for _, rc := range rcpts {
		env.Recipients = append(env.Recipients, smtpclient.Recipient{Address: rc.Address, Notify: rc.Notify, ORCPT: rc.ORCPT})
	}
	return env
}

// rcptResult turns the outcome of a transaction for one recipient into a
// Result.
func rcptResult(addr, where, host string, err error) Result {
	if err == nil {
		return Result{Recipient: addr, Status: Delivered, Enhanced: "2.0.0", Diagnostic: where + ": accepted", RemoteMTA: host}
	}
	f := hostFailure(where, host, err)
	return Result{Recipient: addr, Status: f.status, Enhanced: f.enhanced, Diagnostic: f.diag, RemoteMTA: f.remoteMTA}
}

// hostFailure describes an smtpclient error.
func hostFailure(where, host string, err error) failure {
	var se *smtpclient.Error
	if !errors.As(err, &se) {
		return failure{status: TempFail, enhanced: "4.4.0", diag: fmt.Sprintf("%s: %v", where, err)}
	}
	f := failure{status: TempFail, enhanced: se.Reply.Enhanced}
	if se.Op != "connect" {
		f.remoteMTA = host
	}
	switch {
	case se.Local:
		f.diag = fmt.Sprintf("%s: not sent: %s", where, se.Reply.Text)
	case se.Reply.Code != 0:
		f.diag = fmt.Sprintf("%s said: %s (in reply to %s)", where, oneLine(se.Reply.Error()), se.Op)
	default:
		f.diag = fmt.Sprintf("%s: %s: %v", where, se.Op, se.Err)
	}
	if se.Op == "connect" {
		f.diag = fmt.Sprintf("%s: connection failed: %v", where, se.Err)
	}
	if !se.Temporary() {
		f.status = PermFail
	}
	if f.enhanced == "" {
		f.enhanced = fallbackEnhanced(se)
	}
	return f
}

func fallbackEnhanced(se *smtpclient.Error) string {
	switch {
	case se.Reply.Code/100 == 5:
		return "5.0.0"
	case se.Reply.Code/100 == 4:
		return "4.0.0"
	case se.Op == "connect":
		return "4.4.1" // no answer from host (RFC 3463 section 3.5)
	}
	return "4.4.2" // bad connection
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }
