package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"sealpost.dev/sealpost/internal/dnsx"
)

// Status is an SPF result, in the words of RFC 7208 section 2.6.
type Status string

const (
	None      Status = "none"
	Neutral   Status = "neutral"
	Pass      Status = "pass"
	Fail      Status = "fail"
	Softfail  Status = "softfail"
	Temperror Status = "temperror"
	Permerror Status = "permerror"
)

// Identity names what was checked (RFC 7208 section 2.3 and 2.4).
type Identity string

const (
	IdentityMailFrom Identity = "mailfrom"
	IdentityHELO     Identity = "helo"
)

// Args are the inputs of a check.
type Args struct {
	// IP is the SMTP client's address. An IPv4-mapped IPv6 address is
	// treated as IPv4.
	IP netip.Addr
	// MailFrom is the reverse-path of MAIL FROM, local-part@domain,
	// without angle brackets; "" for the null reverse-path.
	MailFrom string
	// HELO is the name the client gave in HELO or EHLO.
	HELO string
	// Receiver is our own host name, for the %{r} macro and the
	// Received-SPF header; "unknown" is used if empty.
	Receiver string
}

// Received is the result of a check, with what Received-SPF and
// Authentication-Results report.
type Received struct {
	Result   Status   `json:"result"`
	Identity Identity `json:"identity"`
	// Domain is the domain whose policy was checked: that of MAIL FROM, or
	// the HELO name.
	Domain string `json:"domain"`
	// Sender is the address checked: MAIL FROM, or postmaster@HELO when
	// MAIL FROM is null or the HELO identity is checked.
	Sender string `json:"sender"`
	// Mechanism is the term that decided the result as written in the
	// record, "default" when none matched; empty for none, temperror and
	// permerror.
	Mechanism string `json:"mechanism,omitempty"`
	// Explanation is the sender domain's explanation of a fail (exp=),
	// macro-expanded; empty when there is none.
	Explanation string `json:"explanation,omitempty"`
	// Problem tells why the result is temperror or permerror.
	Problem string `json:"problem,omitempty"`

	ClientIP netip.Addr `json:"client_ip"`
	HELO     string     `json:"helo"`
	Receiver string     `json:"receiver"`
}

// Verify checks the MAIL FROM identity (RFC 7208 section 2.4): the domain
// of args.MailFrom, or, when MAIL FROM is null, the HELO name with
// postmaster@HELO as the sender.
//
// The whole check is bounded by ctx; with no deadline, DefaultTimeout
// applies. The error is nil unless the result is temperror (the error
// then wraps dnsx.ErrTemporary) or permerror (it wraps ErrPermanent), or
// args are unusable (no valid IP), in which case Received is zero.
func Verify(ctx context.Context, r dnsx.Resolver, args Args) (Received, error) {
	if args.MailFrom == "" {
		return verify(ctx, r, args, IdentityMailFrom, "postmaster@"+args.HELO)
	}
	return verify(ctx, r, args, IdentityMailFrom, args.MailFrom)
}

// VerifyHELO checks the HELO identity (RFC 7208 section 2.3):
// postmaster@HELO, whatever MAIL FROM is.
func VerifyHELO(ctx context.Context, r dnsx.Resolver, args Args) (Received, error) {
	return verify(ctx, r, args, IdentityHELO, "postmaster@"+args.HELO)
}

func verify(ctx context.Context, r dnsx.Resolver, args Args, id Identity, sender string) (Received, error) {
	if !args.IP.IsValid() {
		return Received{}, errors.New("spf: no valid client IP")
	}
	args.IP = args.IP.Unmap().WithZone("")
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	c := &checker{r: r, args: args}
	c.sender, c.local, c.senderDomain = splitSender(sender)
	rcv := Received{
		Identity: id,
		Domain:   c.senderDomain,
		Sender:   c.sender,
		ClientIP: args.IP,
		HELO:     args.HELO,
		Receiver: args.Receiver,
	}
	out, err := c.checkHost(ctx, c.senderDomain)
	if err != nil {
		var ce *checkError
		rcv.Result = Permerror
		if errors.As(err, &ce) {
			rcv.Result = ce.status
		}
		rcv.Problem = err.Error()
		return rcv, err
	}
	rcv.Result = out.status
	rcv.Mechanism = out.mechanism
	rcv.Explanation = out.explanation
	return rcv, nil
}

// splitSender splits sender into s, l and o of RFC 7208 section 7.2: an
// empty local-part becomes "postmaster" (section 4.3), a trailing dot of
// the domain is dropped.
func splitSender(sender string) (s, local, domain string) {
	local, domain, found := cutLast(sender, "@")
	if found && local != "" && !strings.HasSuffix(domain, ".") {
		return sender, local, domain // already local@domain: no new string
	}
	if !found {
		local, domain = "postmaster", sender
	}
	if local == "" {
		local = "postmaster"
	}
	domain = strings.TrimSuffix(domain, ".")
	return local + "@" + domain, local, domain
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// Header returns the Received-SPF header field (RFC 7208 section 9.1),
// folded before key-value pairs to keep lines near 78 characters, with its
// final CRLF.
func (r Received) Header() string {
	receiver := r.Receiver
	if receiver == "" {
		receiver = "unknown"
	}
	parts := []string{fmt.Sprintf("Received-SPF: %s (%s: %s)", r.Result, commentText(receiver), commentText(r.comment()))}
	add := func(key, value string) { parts = append(parts, key+"="+headerValue(value)) }
	add("client-ip", r.ClientIP.String())
	add("envelope-from", r.Sender)
	if r.HELO != "" {
		add("helo", r.HELO)
	}
	add("identity", string(r.Identity))
	if r.Mechanism != "" {
		add("mechanism", r.Mechanism)
	}
	if r.Problem != "" {
		add("problem", r.Problem)
	}
	add("receiver", receiver)
	var b strings.Builder
	line := 0
	for i, p := range parts {
		if i > 1 {
			b.WriteByte(';')
			line++
		}
		if i > 0 {
			if line+1+len(p) > 78 {
				b.WriteString("\r\n\t")
				line = 1
			} else {
				b.WriteByte(' ')
				line++
			}
		}
		b.WriteString(p)
		line += len(p)
	}
	b.WriteString("\r\n")
	return b.String()
}

// comment is the human text of the Received-SPF comment, after the
// examples of RFC 7208 section 9.1.
func (r Received) comment() string {
	ip := r.ClientIP.String()
	switch r.Result {
	case Pass:
		return "domain of " + r.Sender + " designates " + ip + " as permitted sender"
	case Fail:
		return "domain of " + r.Sender + " does not designate " + ip + " as permitted sender"
	case Softfail:
		return "domain of transitioning " + r.Sender + " does not designate " + ip + " as permitted sender"
	case Neutral:
		return ip + " is neither permitted nor denied by domain of " + r.Sender
	case None:
		return "domain of " + r.Sender + " does not designate permitted sender hosts"
	case Temperror:
		return "error in processing during lookup of " + r.Sender
	}
	return "permanent error in processing domain of " + r.Sender
}

// AuthResult returns the spf method result of an Authentication-Results
// header (RFC 8601 section 2.7.2, RFC 7208 section 9.2):
// "spf=pass smtp.mailfrom=example.com", or smtp.helo for the HELO identity.
func (r Received) AuthResult() string {
	if r.Identity == IdentityHELO {
		return "spf=" + string(r.Result) + " smtp.helo=" + headerValue(r.Domain)
	}
	return "spf=" + string(r.Result) + " smtp.mailfrom=" + headerValue(r.Domain)
}

// headerValue returns v as a dot-atom if it is one, else as a
// quoted-string (RFC 5322 section 3.2.3 and 3.2.4).
func headerValue(v string) string {
	if isDotAtom(v) {
		return v
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			b.WriteByte('?') // no control characters in a header
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func isDotAtom(v string) bool {
	if v == "" {
		return false
	}
	for atom := range strings.SplitSeq(v, ".") {
		if atom == "" {
			return false
		}
		for i := 0; i < len(atom); i++ {
			c := atom[i]
			if !isAlnum(c) && !strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", rune(c)) {
				return false
			}
		}
	}
	return true
}

// commentText escapes what would end or break a header comment.
func commentText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
