package smtpserver

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/greylist"
	"sealpost.dev/sealpost/internal/smtp"
	"sealpost.dev/sealpost/internal/store"
)

func (ss *session) mail(cmd smtp.Command) {
	switch {
	case ss.helo == "":
		ss.fail(503, "5.5.1", "send EHLO first")
		return
	case ss.tx != nil:
		ss.fail(503, "5.5.1", "a transaction is already open; RSET first")
		return
	case ss.srv.cfg.Mode != MX && !ss.authed:
		ss.fail(530, "5.7.0", "authentication required")
		return
	}
	tx := &transaction{from: cmd.Path}
	for _, p := range cmd.Params {
		if r := ss.mailParam(tx, p); r != nil {
			ss.failReply(r)
			return
		}
	}
	if ss.srv.cfg.Mode != MX && !tx.from.IsNull() {
		ok, err := ss.allowedSender(tx.from.String())
		if err != nil {
			ss.reply(451, "4.3.0", "temporary failure checking the sender, try again")
			return
		}
		if !ok {
			ss.fail(550, "5.7.1", "you may not send as "+tx.from.String())
			return
		}
	}
	ss.idle = 0
	ss.tx = tx
	ss.reply(250, "2.1.0", "OK")
}

func (ss *session) mailParam(tx *transaction, p smtp.Param) *smtp.Reply {
	bad := &smtp.Reply{Code: 501, Enhanced: "5.5.4", Text: "invalid " + p.Keyword + " parameter"}
	switch p.Keyword {
	case "SIZE":
		n, ok := parseSize(p.Value)
		if !ok {
			return bad
		}
		if n > ss.srv.cfg.Limits.MaxMessageSize {
			return &smtp.Reply{Code: 552, Enhanced: "5.3.4", Text: "message too large"}
		}
	case "BODY":
		switch strings.ToUpper(p.Value) {
		case "7BIT":
			tx.bodyType = store.BodyType7Bit
		case "8BITMIME":
			tx.bodyType = store.BodyType8BitMIME
		default:
			return bad
		}
	case "SMTPUTF8":
		if p.Value != "" {
			return bad
		}
		tx.utf8 = true
	case "RET":
		switch strings.ToUpper(p.Value) {
		case "FULL":
			tx.ret = store.RetFull
		case "HDRS":
			tx.ret = store.RetHeaders
		default:
			return bad
		}
	case "ENVID":
		v, err := smtp.DecodeXtext(p.Value)
		if err != nil || v == "" || len(v) > 100 {
			return bad
		}
		tx.envID = v
	case "REQUIRETLS":
		if ss.tls == nil || p.Value != "" {
			return &smtp.Reply{Code: 555, Enhanced: "5.5.4", Text: "REQUIRETLS needs TLS"}
		}
		tx.requireTLS = true
	case "AUTH":
		// RFC 4954 §5: the original submitter; we record our own.
	default:
		return &smtp.Reply{Code: 555, Enhanced: "5.5.4", Text: "unsupported parameter " + p.Keyword}
	}
	return nil
}

func (ss *session) rcpt(cmd smtp.Command) {
	switch {
	case ss.tx == nil:
		ss.fail(503, "5.5.1", "send MAIL first")
		return
	case len(ss.tx.rcpts) >= ss.srv.cfg.Limits.MaxRecipients:
		// Counted as an error, so a client that keeps trying is cut off.
		ss.fail(452, "4.5.3", "too many recipients")
		return
	}
	rc := recipient{path: cmd.Path}
	for _, p := range cmd.Params {
		if r := rcptParam(&rc, p); r != nil {
			ss.failReply(r)
			return
		}
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	if cmd.Path.IsPostmaster() && cmd.Path.Domain == "" {
		d, err := ss.postmasterDomain()
		if err != nil {
			ss.reply(451, "4.3.0", "temporary failure, try again")
			return
		}
		cmd.Path.Domain = d
	}
	if cmd.Path.IPLiteral.IsValid() {
		ss.fail(550, "5.7.1", "mail to address literals is not accepted")
		return
	}
	addr, err := account.ParseAddress(cmd.Path.String())
	if err != nil {
		ss.fail(550, "5.1.3", "bad recipient address syntax")
		return
	}
	rc.addr = addr.String()
	for _, r := range ss.tx.rcpts {
		if r.addr == rc.addr {
			ss.reply(250, "2.1.5", "OK (duplicate)")
			return
		}
	}
	_, err = ss.srv.store.GetDomain(ctx, addr.Domain)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if ss.srv.cfg.Mode == MX || !ss.authed {
			ss.fail(550, "5.7.1", "relaying denied: "+addr.Domain+" is not a domain of this server")
			return
		}
	case err != nil:
		ss.reply(451, "4.3.0", "temporary failure, try again")
		return
	default:
		rc.local = true
		var srsErr *account.SRSError
		if _, err := ss.srv.accounts.Resolve(ctx, rc.addr); errors.As(err, &srsErr) {
			ss.fail(550, "5.1.1", srsErr.Error())
			return
		} else if errors.Is(err, store.ErrNotFound) {
			ss.fail(550, "5.1.1", "no such user: "+rc.addr)
			return
		} else if err != nil {
			ss.reply(451, "4.3.0", "temporary failure looking up the recipient, try again")
			return
		}
	}
	if rc.local && !ss.passGreylist(rc.addr) {
		return
	}
	ss.tx.rcpts = append(ss.tx.rcpts, rc)
	ss.reply(250, "2.1.5", "OK")
}

// passGreylist asks the greylist about a recipient of the MX listener and
// reports whether it may be accepted; when not, it has answered 451.
func (ss *session) passGreylist(rcpt string) bool {
	if ss.srv.greylist == nil || ss.srv.cfg.Mode != MX {
		return true
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	from := ss.tx.from.String() // "" for the null sender
	ok, wait, err := ss.srv.greylist.CheckRequest(ctx, greylist.Request{IP: ss.remote, From: from, To: rcpt, Authenticated: ss.authed})
	if err != nil {
		ss.srv.log.Warn("greylist failed; recipient accepted", "session", ss.id, "err", err)
		return true
	}
	if !ok {
		secs := int(wait.Round(time.Second) / time.Second)
		ss.srv.log.Info("greylisted", "session", ss.id, "ip", ss.remote, "from", from, "to", rcpt, "retry_after", secs)
		ss.reply(451, "4.7.1", "greylisted, please try again in "+strconv.Itoa(secs)+" seconds")
		return false
	}
	return true
}

func rcptParam(rc *recipient, p smtp.Param) *smtp.Reply {
	bad := &smtp.Reply{Code: 501, Enhanced: "5.5.4", Text: "invalid " + p.Keyword + " parameter"}
	switch p.Keyword {
	case "NOTIFY":
		v := strings.ToUpper(p.Value)
		if !validNotify(v) {
			return bad
		}
		rc.notify = v
	case "ORCPT":
		v, err := smtp.DecodeXtext(p.Value)
		typ, addr, ok := strings.Cut(v, ";")
		if err != nil || !ok || typ == "" || addr == "" || len(v) > 500 {
			return bad
		}
		rc.orcpt = v
	default:
		return &smtp.Reply{Code: 555, Enhanced: "5.5.4", Text: "unsupported parameter " + p.Keyword}
	}
	return nil
}

// validNotify checks a NOTIFY value (RFC 3461 §4.1).
func validNotify(v string) bool {
	if v == "NEVER" {
		return true
	}
	seen := map[string]bool{}
	for _, w := range strings.Split(v, ",") {
		if (w != "SUCCESS" && w != "FAILURE" && w != "DELAY") || seen[w] {
			return false
		}
		seen[w] = true
	}
	return len(seen) > 0
}

func parseSize(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// allowedSender reports whether the authenticated account may use addr as
// its address: its own, or an alias that delivers to it. A catch-all does
// not count: receiving any address is not a licence to send as all of them.
func (ss *session) allowedSender(addr string) (bool, error) {
	a, err := account.ParseAddress(addr)
	if err != nil {
		return false, nil
	}
	if a.String() == ss.account.Address {
		return true, nil
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	if _, err := ss.srv.store.GetAlias(ctx, a.String()); errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	res, err := ss.srv.accounts.Resolve(ctx, a.String())
	if err != nil {
		return false, nil
	}
	for _, acct := range res.Accounts {
		if acct == ss.account.Address {
			return true, nil
		}
	}
	return false, nil
}

// postmasterDomain chooses the domain for <Postmaster> without a domain
// (RFC 5321 §4.5.1): the server's host name or its parent if hosted, else
// the first hosted domain.
func (ss *session) postmasterDomain() (string, error) {
	ctx, cancel := ss.ctx()
	defer cancel()
	host := strings.ToLower(ss.srv.cfg.Hostname)
	candidates := []string{host}
	if _, parent, ok := strings.Cut(host, "."); ok {
		candidates = append(candidates, parent)
	}
	for _, d := range candidates {
		if _, err := ss.srv.store.GetDomain(ctx, d); err == nil {
			return d, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	domains, err := ss.srv.store.ListDomains(ctx)
	if err != nil {
		return "", err
	}
	if len(domains) == 0 {
		return "", errors.New("no hosted domains")
	}
	return domains[0].Name, nil
}
