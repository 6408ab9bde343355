package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// validate checks the decoded configuration; every problem is recorded
// against the key that holds it.
func (d *decoder) validate(c *Config) {
	d.required(reflect.ValueOf(c).Elem(), "")
	if c.Hostname != "" {
		if err := checkDomain(c.Hostname); err != nil {
			d.fail("hostname", "invalid host name %q: %v", c.Hostname, err)
		}
		c.Hostname = strings.ToLower(c.Hostname)
	}
	d.domains(c)
	d.postmaster(c)
	d.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	d.oneOf("log.format", c.Log.Format, "text", "json")
	d.durationRange("log.activity_retention", c.Log.ActivityRetention, time.Hour, 10*365*24*time.Hour)
	d.storage(&c.Storage)
	d.tls(&c.TLS)
	d.listeners(&c.Listeners)
	d.limits(&c.Limits)
	if err := checkHostPort(c.DNS.Resolver, false); err != nil {
		d.fail("dns.resolver", "invalid address %q: %v", c.DNS.Resolver, err)
	}
	d.queue(&c.Queue)
	d.passwords(&c.Passwords)
	d.loginGuard(&c.LoginGuard)
	d.auth(&c.Auth)
	d.filter(&c.Filter)
	d.durationRange("dkim.publish_hold", c.DKIM.PublishHold, time.Minute, 720*time.Hour)
	d.durationRange("dkim.overlap", c.DKIM.Overlap, time.Hour, 2160*time.Hour)
	d.durationRange("srs.max_age", c.SRS.MaxAge, 24*time.Hour, 8760*time.Hour)
	d.outbound(&c.Outbound)
	d.durationRange("greylist.delay", c.Greylist.Delay, time.Minute, time.Hour)
	d.durationRange("greylist.window", c.Greylist.Window, time.Hour, 168*time.Hour)
	d.durationRange("greylist.whitelist", c.Greylist.Whitelist, 24*time.Hour, 8760*time.Hour)
	d.testing(&c.Testing)
}

func (d *decoder) auth(a *Auth) {
	if a.AuthservID != "" {
		if err := checkDomain(a.AuthservID); err != nil {
			d.fail("auth.authserv_id", "invalid name %q: %v", a.AuthservID, err)
		}
		a.AuthservID = strings.ToLower(a.AuthservID)
	}
	for _, l := range []struct {
		key  string
		list []string
	}{{"auth.dmarc_exempt", a.DMARCExempt}, {"auth.arc_trusted_sealers", a.ARCTrustedSealers}} {
		key, list := l.key, l.list
		for i, dom := range list {
			if err := checkDomain(dom); err != nil {
				d.fail(key, "invalid domain %q: %v", dom, err)
				continue
			}
			list[i] = strings.ToLower(dom)
		}
	}
	d.durationRange("auth.check_timeout", a.CheckTimeout, time.Second, 2*time.Minute)
}

func (d *decoder) filter(f *Filter) {
	for _, t := range []struct {
		key string
		v   float64
	}{{"filter.reject_score", f.RejectScore}, {"filter.junk_score", f.JunkScore}, {"filter.warn_score", f.WarnScore}} {
		if t.v < 0 || t.v > 1000 {
			d.fail(t.key, "must be between 0 (off) and 1000, not %v", t.v)
		}
	}
	if f.JunkScore > 0 && f.RejectScore > 0 && f.RejectScore <= f.JunkScore {
		d.fail("filter.reject_score", "must be above junk_score (%v), not %v", f.JunkScore, f.RejectScore)
	}
	if f.WarnScore > 0 && f.JunkScore > 0 && f.JunkScore <= f.WarnScore {
		d.fail("filter.junk_score", "must be above warn_score (%v), not %v", f.WarnScore, f.JunkScore)
	}
	if f.BannerText != "" {
		if _, err := template.New("banner").Parse(f.BannerText); err != nil {
			d.fail("filter.banner_text", "invalid template: %v", err)
		}
	}
	for _, w := range f.Weights {
		name, num, ok := strings.Cut(w, "=")
		v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if !ok || !checkName(strings.TrimSpace(name)) || err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			d.fail("filter.weights", "invalid weight %q: write name=number, such as headers.no_date=0.5", w)
		}
	}
	for _, n := range f.Tempfail {
		if !checkName(n) {
			d.fail("filter.tempfail", "invalid check name %q", n)
		}
	}
	for i, r := range f.ExemptRecipients {
		domain := r
		if at := strings.LastIndexByte(r, '@'); at >= 0 {
			domain = r[at+1:]
			if at == 0 {
				domain = ""
			}
		}
		if checkDomain(domain) != nil {
			d.fail("filter.exempt_recipients", "invalid address or domain %q", r)
			continue
		}
		f.ExemptRecipients[i] = strings.ToLower(r)
	}
	for i, dom := range f.ExemptSenders {
		if err := checkDomain(dom); err != nil {
			d.fail("filter.exempt_senders", "invalid domain %q: %v", dom, err)
			continue
		}
		f.ExemptSenders[i] = strings.ToLower(dom)
	}
	d.durationRange("filter.timeout", f.Timeout, time.Second, 2*time.Minute)
	if f.Retrain != 0 {
		d.durationRange("filter.retrain", f.Retrain, time.Hour, 720*time.Hour)
	}
	d.zones("filter.dnsbl_zones", f.DNSBLZones)
	d.zones("filter.uribl_zones", f.URIBLZones)
	if f.ClamdOnError != "tempfail" && f.ClamdOnError != "pass" {
		d.fail("filter.clamd_on_error", "must be tempfail or pass, not %q", f.ClamdOnError)
	}
	if c := f.Clamd; c != "" && !strings.HasPrefix(c, "/") {
		if _, port, err := net.SplitHostPort(c); err != nil || port == "" {
			d.fail("filter.clamd", "must be a unix socket's absolute path or host:port, not %q", c)
		}
	}
}

// zones checks blocklist zones written "zone=score [answer ...]", and
// lower-cases their names.
func (d *decoder) zones(key string, zones []string) {
	for i, z := range zones {
		fields := strings.Fields(z)
		ok := len(fields) > 0
		if ok {
			name, num, found := strings.Cut(fields[0], "=")
			v, err := strconv.ParseFloat(num, 64)
			ok = found && checkDomain(strings.TrimSuffix(name, ".")) == nil && err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
			for _, a := range fields[1:] {
				ip, err := netip.ParseAddr(a)
				ok = ok && err == nil && ip.Is4()
			}
		}
		if !ok {
			d.fail(key, "invalid zone %q: write zone=score, optionally followed by the IPv4 answers that count", z)
			continue
		}
		zones[i] = strings.ToLower(z)
	}
}

// checkName reports whether s is a check or score name: lower-case
// letters, digits, '_', '-' and '.'.
func checkName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// required reports empty fields tagged required:"true".
func (d *decoder) required(v reflect.Value, prefix string) {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		key := join(prefix, tomlName(f))
		if f.Tag.Get("required") == "true" && v.Field(i).IsZero() {
			d.fail(key, "required")
		}
		if f.Type.Kind() == reflect.Struct {
			d.required(v.Field(i), key)
		}
	}
}

func (d *decoder) oneOf(key, v string, allowed ...string) bool {
	if slices.Contains(allowed, v) {
		return true
	}
	d.fail(key, "invalid value %q: must be one of %s", v, strings.Join(allowed, ", "))
	return false
}

func (d *decoder) domains(c *Config) {
	seen := map[string]bool{}
	for i, dom := range c.Domains {
		if err := checkDomain(dom); err != nil {
			d.fail("domains", "invalid domain %q: %v", dom, err)
			continue
		}
		dom = strings.ToLower(dom)
		if seen[dom] {
			d.fail("domains", "domain %q listed twice", dom)
		}
		seen[dom] = true
		c.Domains[i] = dom
	}
}

func (d *decoder) postmaster(c *Config) {
	if c.Postmaster == "" {
		return
	}
	if a, err := mail.ParseAddress(c.Postmaster); err != nil || a.Name != "" || a.Address != c.Postmaster {
		d.fail("postmaster", "invalid address %q: write a bare address such as admin@example.com", c.Postmaster)
	}
}

func (d *decoder) storage(s *Storage) {
	if !d.oneOf("storage.backend", s.Backend, BackendSQLite, BackendPostgres) {
		return
	}
	switch {
	case s.Backend == BackendPostgres && s.PostgresDSN == "":
		d.fail("storage.postgres_dsn", "required when storage.backend is %q", BackendPostgres)
	case s.Backend != BackendPostgres && s.PostgresDSN != "":
		d.fail("storage.postgres_dsn", "set, but storage.backend is %q; remove it or set backend = %q", s.Backend, BackendPostgres)
	case s.PostgresDSN != "":
		if err := checkDSN(string(s.PostgresDSN)); err != nil {
			d.fail("storage.postgres_dsn", "invalid connection string: %v", err)
		}
	}
}

// checkDSN checks the shape of a PostgreSQL connection string without
// resolving or reading anything. Its errors never quote the string, which
// may hold a password.
func checkDSN(dsn string) error {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if _, err := url.Parse(dsn); err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return fmt.Errorf("not a valid URL: %v", err)
		}
		return nil
	}
	if !strings.Contains(dsn, "=") {
		return errors.New("expected a postgres:// URL or keyword=value pairs")
	}
	return nil
}

func (d *decoder) tls(t *TLS) {
	d.oneOf("tls.min_version", t.MinVersion, "1.2", "1.3")
	if !d.oneOf("tls.mode", t.Mode, TLSModeFiles, TLSModeSelfSigned, TLSModeACME) {
		return
	}
	files := t.Mode == TLSModeFiles
	for _, f := range []struct{ key, val string }{{"tls.cert_file", t.CertFile}, {"tls.key_file", t.KeyFile}} {
		if files && f.val == "" {
			d.fail(f.key, "required when tls.mode is %q", TLSModeFiles)
		}
		if !files && f.val != "" {
			d.fail(f.key, "only used when tls.mode is %q, but mode is %q", TLSModeFiles, t.Mode)
		}
	}
	acme := t.Mode == TLSModeACME
	if u, err := url.Parse(t.ACMEDirectory); err != nil || u.Scheme != "https" || u.Host == "" {
		d.fail("tls.acme_directory", "invalid URL %q: must be an https:// URL", t.ACMEDirectory)
	} else if !acme && t.ACMEDirectory != LetsEncryptDirectory {
		d.fail("tls.acme_directory", "only used when tls.mode is %q, but mode is %q", TLSModeACME, t.Mode)
	}
	switch {
	case acme && t.ACMEEmail == "":
		d.fail("tls.acme_email", "required when tls.mode is %q", TLSModeACME)
	case !acme && t.ACMEEmail != "":
		d.fail("tls.acme_email", "only used when tls.mode is %q, but mode is %q", TLSModeACME, t.Mode)
	case t.ACMEEmail != "":
		if a, err := mail.ParseAddress(t.ACMEEmail); err != nil || a.Name != "" || a.Address != t.ACMEEmail {
			d.fail("tls.acme_email", "invalid address %q: write a bare address such as postmaster@example.com", t.ACMEEmail)
		}
	}
}

func (d *decoder) listeners(l *Listeners) {
	type bound struct {
		key  string
		addr netip.Addr // invalid for "all addresses"
		port string
	}
	var used []bound
	v := reflect.ValueOf(l).Elem()
	for i := range v.NumField() {
		addr, ok := v.Field(i).Interface().(string)
		if !ok || addr == "" {
			continue
		}
		key := "listeners." + tomlName(v.Type().Field(i))
		if err := checkHostPort(addr, true); err != nil {
			d.fail(key, "invalid address %q: %v", addr, err)
			continue
		}
		host, port, _ := net.SplitHostPort(addr)
		ip, _ := netip.ParseAddr(host)
		if key == "listeners.admin" && !l.AdminPublic && !ip.IsLoopback() {
			d.fail(key, "address %q is not a loopback address; use 127.0.0.1 or [::1], or set listeners.admin_public = true to expose metrics to the network", addr)
		}
		if port == "0" {
			continue
		}
		for _, u := range used {
			sameHost := !u.addr.IsValid() || !ip.IsValid() || u.addr.IsUnspecified() || ip.IsUnspecified() || u.addr == ip
			if u.port == port && sameHost {
				d.fail(key, "address %q conflicts with %s", addr, u.key)
			}
		}
		used = append(used, bound{key, ip, port})
	}
}

// checkHostPort checks a host:port whose host is an IP address (or empty,
// when allowed) so that nothing needs DNS to start listening or resolving.
func checkHostPort(addr string, emptyHost bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return errors.New(ae.Err)
		}
		return err
	}
	switch {
	case host == "" && !emptyHost:
		return errors.New("the host must be an IP address")
	case host != "":
		if _, err := netip.ParseAddr(host); err != nil {
			return errors.New("the host must be an IP address (names would need DNS to start)")
		}
	}
	lo := 1
	if emptyHost {
		lo = 0
	}
	if n, err := strconv.Atoi(port); err != nil || n < lo || n > 65535 || port != strconv.Itoa(n) {
		return fmt.Errorf("the port must be a number from %d to 65535", lo)
	}
	return nil
}

func (d *decoder) limits(l *Limits) {
	d.sizeRange("limits.max_message_size", l.MaxMessageSize, KiB, 2*GiB)
	d.intRange("limits.max_recipients", l.MaxRecipients, 1, 10000)
	d.intRange("limits.max_line_length", l.MaxLineLength, 1000, 1<<20)
	d.intRange("limits.max_connections_per_ip", l.MaxConnectionsPerIP, 1, 10000)
	d.intRange("limits.max_auth_failures", l.MaxAuthFailures, 1, 100)
	d.intRange("limits.max_sessions", l.MaxSessions, 1, 100000)
	d.intRange("limits.max_imap_sessions", l.MaxIMAPSessions, 1, 1000000)
	d.durationRange("limits.session_timeout", l.SessionTimeout, time.Second, 24*time.Hour)
	d.durationRange("limits.command_timeout", l.CommandTimeout, time.Second, 24*time.Hour)
	d.durationRange("limits.shutdown_timeout", l.ShutdownTimeout, time.Second, 10*time.Minute)
}

func (d *decoder) queue(q *Queue) {
	maxOK := d.durationRange("queue.max_age", q.MaxAge, time.Hour, 2160*time.Hour)
	if d.durationRange("queue.delay_warning", q.DelayWarning, time.Minute, 2160*time.Hour) &&
		maxOK && q.DelayWarning >= q.MaxAge {
		d.fail("queue.delay_warning", "must be shorter than queue.max_age (%v)", q.MaxAge)
	}
}

func (d *decoder) passwords(p *Passwords) {
	d.intRange("passwords.min_length", p.MinLength, 8, 128)
	d.intRange("passwords.argon2_time", p.Argon2Time, 1, 64)
	if d.sizeRange("passwords.argon2_memory", p.Argon2Memory, 19*MiB, 4*GiB) && p.Argon2Memory%KiB != 0 {
		d.fail("passwords.argon2_memory", "must be a whole number of KiB, not %v", p.Argon2Memory)
	}
	d.intRange("passwords.argon2_threads", p.Argon2Threads, 1, 255)
	d.durationRange("passwords.login_cache_ttl", p.LoginCacheTTL, 0, 24*time.Hour)
	d.intRange("passwords.login_cache_size", p.LoginCacheSize, 1, 1000000)
	d.intRange("passwords.max_concurrent_checks", p.MaxConcurrentChecks, 0, 1024)
}

func (d *decoder) loginGuard(g *LoginGuard) {
	d.intRange("login_guard.ipv4_prefix", g.IPv4Prefix, 8, 32)
	d.intRange("login_guard.ipv6_prefix", g.IPv6Prefix, 16, 128)
	if d.durationRange("login_guard.max_delay", g.MaxDelay, 0, time.Minute) &&
		d.durationRange("login_guard.base_delay", g.BaseDelay, 0, time.Minute) && g.BaseDelay > g.MaxDelay {
		d.fail("login_guard.base_delay", "must not be longer than login_guard.max_delay (%v), not %v", g.MaxDelay, g.BaseDelay)
	}
	d.intRange("login_guard.ip_failures", g.IPFailures, 1, 1000)
	d.intRange("login_guard.network_failures", g.NetworkFailures, 1, 100000)
	d.durationRange("login_guard.window", g.Window, time.Second, 24*time.Hour)
	d.intRange("login_guard.account_failures", g.AccountFailures, 1, 100000)
	d.durationRange("login_guard.account_window", g.AccountWindow, time.Second, 168*time.Hour)
	if d.durationRange("login_guard.lock_duration", g.LockDuration, time.Second, 24*time.Hour) &&
		d.durationRange("login_guard.max_lock_duration", g.MaxLockDuration, time.Second, 720*time.Hour) && g.MaxLockDuration < g.LockDuration {
		d.fail("login_guard.max_lock_duration", "must not be shorter than login_guard.lock_duration (%v), not %v", g.LockDuration, g.MaxLockDuration)
	}
	d.durationRange("login_guard.trust_period", g.TrustPeriod, time.Hour, 8760*time.Hour)
	d.intRange("login_guard.max_tracked", g.MaxTracked, 100, 10000000)
}

// testing refuses test-only settings unless testing.enabled says they are
// meant: each one weakens or bends outbound delivery.
func (d *decoder) outbound(o *Outbound) {
	for _, l := range []struct {
		key    string
		v, max int
	}{
		{"outbound.messages_per_minute", o.MessagesPerMinute, 10000},
		{"outbound.messages_per_hour", o.MessagesPerHour, 100000},
		{"outbound.messages_per_day", o.MessagesPerDay, 1000000},
		{"outbound.recipients_per_minute", o.RecipientsPerMinute, 100000},
		{"outbound.recipients_per_hour", o.RecipientsPerHour, 1000000},
		{"outbound.recipients_per_day", o.RecipientsPerDay, 10000000},
		{"outbound.new_recipients_per_hour", o.NewRecipientsPerHour, 1000000},
		{"outbound.new_recipients_per_day", o.NewRecipientsPerDay, 10000000},
	} {
		d.intRange(l.key, l.v, 0, l.max)
	}
	if o.BurstFactor != 0 {
		d.intRange("outbound.burst_factor", o.BurstFactor, 2, 1000)
	}
	d.intRange("outbound.burst_minimum", o.BurstMinimum, 1, 100000)
	d.intRange("outbound.correspondents", o.Correspondents, 100, 100000)
}

func (d *decoder) testing(t *Testing) {
	set := map[string]bool{"testing.smtp_port": t.SMTPPort != 0, "testing.mtasts_port": t.MTASTSPort != 0, "testing.ca_file": t.CAFile != ""}
	for _, key := range []string{"testing.smtp_port", "testing.mtasts_port", "testing.ca_file"} {
		if set[key] && !t.Enabled {
			d.fail(key, "a setting for tests only; it takes effect only with testing.enabled = true, which no real server should set")
		}
	}
	d.intRange("testing.smtp_port", t.SMTPPort, 0, 65535)
	d.intRange("testing.mtasts_port", t.MTASTSPort, 0, 65535)
}

func (d *decoder) intRange(key string, v, lo, hi int) bool {
	if v < lo || v > hi {
		d.fail(key, "must be between %d and %d, not %d", lo, hi, v)
		return false
	}
	return true
}

func (d *decoder) sizeRange(key string, v, lo, hi Size) bool {
	if v < lo || v > hi {
		d.fail(key, "must be between %v and %v, not %v", lo, hi, v)
		return false
	}
	return true
}

func (d *decoder) durationRange(key string, v Duration, lo, hi time.Duration) bool {
	if time.Duration(v) < lo || time.Duration(v) > hi {
		d.fail(key, "must be between %v and %v, not %v", Duration(lo), Duration(hi), v)
		return false
	}
	return true
}

// checkDomain checks that name is a fully qualified ASCII domain name
// (RFC 1035 section 2.3.1, with digits allowed first as RFC 1123 section 2.1
// permits).
func checkDomain(name string) error {
	switch {
	case len(name) > 253:
		return errors.New("longer than 253 octets")
	case strings.HasSuffix(name, "."):
		return errors.New("remove the trailing dot")
	case net.ParseIP(name) != nil:
		return errors.New("an IP address, not a name")
	}
	for _, r := range name {
		if r >= 0x80 {
			return errors.New("not ASCII; write internationalized names in their A-label (xn--) form")
		}
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return errors.New("not fully qualified; write the whole name, such as mail.example.com")
	}
	for _, l := range labels {
		if err := checkLabel(l); err != nil {
			return err
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return errors.New("the last label must not be all digits")
	}
	return nil
}

func checkLabel(l string) error {
	switch {
	case l == "":
		return errors.New("empty label")
	case len(l) > 63:
		return fmt.Errorf("label %q is longer than 63 octets", l)
	case l[0] == '-' || l[len(l)-1] == '-':
		return fmt.Errorf("label %q starts or ends with a hyphen", l)
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; !(isBare(c) && c != '_') {
			return fmt.Errorf("label %q contains %q", l, c)
		}
	}
	return nil
}
