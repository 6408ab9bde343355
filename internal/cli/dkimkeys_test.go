package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
	"sealpost.dev/sealpost/internal/instance"
)

// TestDKIMKeyCommands walks a domain's keys through a rotation with the
// CLI: keys made at "domain add", "dkim rotate" adding pending keys,
// "dkim activate" swapping them, and "dns" listing what to publish.
func TestDKIMKeyCommands(t *testing.T) {
	dir := instanceDir(t)
	if code, _, stderr := run(t, "domain", "add", "example.org", "--data", dir); code != 0 {
		t.Fatalf("domain add: %s", stderr)
	}
	keys := func() []dkimKeyView {
		t.Helper()
		code, out, stderr := run(t, "dkim", "keys", "--json", "example.org", "--data", dir)
		var views []dkimKeyView
		if code != 0 || json.Unmarshal([]byte(out), &views) != nil {
			t.Fatalf("dkim keys: %d %s %s", code, out, stderr)
		}
		return views
	}
	first := keys()
	if len(first) != 2 || first[0].Algorithm != "ed25519" || first[1].Algorithm != "rsa" ||
		first[0].State != "active" || first[1].State != "active" ||
		!strings.HasPrefix(first[0].Record, "v=DKIM1; k=ed25519; p=") || !strings.HasPrefix(first[1].Record, "v=DKIM1; k=rsa; p=") ||
		first[0].Name != first[0].Selector+"._domainkey.example.org." {
		t.Fatalf("keys of a new domain: %+v", first)
	}

	code, out, stderr := run(t, "dkim", "rotate", "example.org", "--data", dir)
	if code != 0 || !strings.Contains(out, "pending") || strings.Count(out, "._domainkey.example.org. TXT") != 2 {
		t.Fatalf("dkim rotate: %d %s %s", code, out, stderr)
	}
	// An RSA-2048 record is longer than one TXT string may be.
	for _, s := range regexp.MustCompile(`"[^"]*"`).FindAllString(out, -1) {
		if len(s) > 257 {
			t.Errorf("a TXT string of %d octets: %s", len(s)-2, s)
		}
	}
	if code, _, _ := run(t, "dkim", "rotate", "example.org", "--data", dir); code != 2 {
		t.Errorf("a second rotation before activation: exit %d, want 2", code)
	}
	if !strings.Contains(out, "the running server activates them once DNS has shown both for 24h") {
		t.Errorf("dkim rotate does not say how the keys come to sign:\n%s", out)
	}
	code, out, _ = run(t, "dkim", "keys", "example.org", "--data", dir)
	if code != 0 || strings.Count(out, "pending, not seen published yet") != 2 {
		t.Errorf("dkim keys before publication: %d\n%s", code, out)
	}
	seePublished(t, dir, "example.org")
	code, out, _ = run(t, "dkim", "keys", "example.org", "--data", dir)
	if code != 0 || strings.Count(out, "(pending, seen published since 20") != 2 {
		t.Errorf("dkim keys after publication: %d\n%s", code, out)
	}
	for _, k := range keys() {
		if (k.State == "pending") != (k.PublishedSince != nil) {
			t.Errorf("%s (%s) published since %v", k.Selector, k.State, k.PublishedSince)
		}
	}
	code, out, _ = run(t, "dns", "--json", "example.org", "--data", dir)
	var recs []dnsRecord
	if code != 0 || json.Unmarshal([]byte(out), &recs) != nil {
		t.Fatalf("dns: %d %s", code, out)
	}
	byType := map[string]int{}
	for _, r := range recs {
		byType[r.Type]++
	}
	if byType["MX"] != 1 || byType["TXT"] != 2+4+3 || byType["CNAME"] != 3 || byType["SRV"] != 7 {
		t.Errorf("dns during a rotation: %v records by type: %+v", byType, recs)
	}
	// The overlap defaults to the config's dkim.overlap.
	if code, out, stderr := run(t, "dkim", "activate", "example.org", "--data", dir); code != 0 || !strings.Contains(out, "published for 168h0m0s") {
		t.Fatalf("dkim activate: %d %s %s", code, out, stderr)
	}
	states := map[string]string{}
	for _, k := range keys() {
		states[k.Selector] = k.State
		if k.State == "retiring" && k.RetireAt == nil {
			t.Errorf("%s retires at no time", k.Selector)
		}
	}
	if states[first[0].Selector] != "retiring" || states[first[1].Selector] != "retiring" || len(states) != 4 {
		t.Errorf("after activation: %v", states)
	}

	code, out, _ = run(t, "dns", "example.org", "--data", dir)
	for _, want := range []string{"example.org. 3600 IN MX 10 ", `"v=spf1 mx -all"`, "_dmarc.example.org. 3600 IN TXT", "_submissions._tcp.example.org. 3600 IN SRV 0 1 "} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("dns: %d, no %q in\n%s", code, want, out)
		}
	}
	for _, args := range [][]string{
		{"dkim", "keys", "--data", dir},
		{"dkim", "keys", "nowhere.example", "--data", dir},
		{"dkim", "activate", "example.org", "--data", dir},
		{"dkim", "shred", "example.org", "--data", dir},
		{"dns", "bad..domain", "--data", dir},
	} {
		if code, _, _ := run(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// TestCheckCommand publishes some of a domain's records right, some wrong
// and some not at all in a test DNS server, and checks what "sealpost
// check" says of each.
func TestCheckCommand(t *testing.T) {
	dir, recs := newDomainRecords(t)
	var zone strings.Builder
	var mxHost string
	for _, r := range recs {
		switch {
		case r.Type == "MX":
			mxHost = strings.Fields(r.Value)[1]
			zone.WriteString(r.Name + " MX " + r.Value + "\n")
		case strings.HasPrefix(r.Value, "v=DKIM1; k=ed25519"):
			zone.WriteString(r.Name + " TXT " + dnsx.ZoneTXT(r.Value) + "\n")
		case strings.HasPrefix(r.Value, "v=DKIM1; k=rsa"):
			zone.WriteString(r.Name + ` TXT "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwrong"` + "\n")
		case strings.HasPrefix(r.Name, "_dmarc."):
			zone.WriteString(r.Name + ` TXT "v=DMARC1; p=none"` + "\n")
		case strings.HasPrefix(r.Name, "_smtp._tls."):
			zone.WriteString(r.Name + ` TXT "v=TLSRPTv1; rua=mailto:a@example.org"` + "\n" + r.Name + ` TXT "v=TLSRPTv1; rua=mailto:b@example.org"` + "\n")
		case r.Type == "CNAME" && strings.HasPrefix(r.Name, "mta-sts."):
			zone.WriteString(r.Name + " CNAME " + r.Value + "\n" + r.Value + " A 192.0.2.25\n")
		case r.Type == "SRV":
			// Right, on the wrong port, right in other words, "not
			// offered", on another host, and (pop3s) missing.
			published := map[string]string{
				"_submissions._tcp.example.org.": r.Value,
				"_submission._tcp.example.org.":  "10 1 2587 " + mxHost,
				"_imaps._tcp.example.org.":       "5 0 993 MAIL.EXAMPLE.NET.",
				"_imap._tcp.example.org.":        "0 0 0 .",
				"_pop3._tcp.example.org.":        "10 1 110 other.example.net.",
			}[r.Name]
			if published != "" {
				zone.WriteString(r.Name + " SRV " + published + "\n")
			}
		case r.Name == "example.org." && r.Type == "TXT":
			zone.WriteString(r.Name + " TXT " + dnsx.ZoneTXT(r.Value) + "\n" + r.Name + ` TXT "google-site-verification=x"` + "\n")
		}
	}
	srv := dnstest.Start(t, zone.String())
	code, out, stderr := run(t, "check", "--json", "--resolver", srv.Addr(), "example.org", "--data", dir)
	var checks []recordCheck
	if err := json.Unmarshal([]byte(out), &checks); err != nil {
		t.Fatalf("check: %d %s %s", code, out, stderr)
	}
	if code != 1 || !strings.Contains(stderr, "missing or wrong") {
		t.Errorf("check with missing records: exit %d, %s", code, stderr)
	}
	status := map[string]string{}
	for _, c := range checks {
		key := c.Name + " " + c.Type
		if strings.Contains(c.Name, "._domainkey.") {
			key = "dkim " + tagValue(c.Value, "k")
		}
		status[key] = c.Status
	}
	want := map[string]string{
		"example.org. MX":                     "ok",
		"example.org. TXT":                    "ok",
		mxHost + " TXT":                       "missing",
		"dkim ed25519":                        "ok",
		"dkim rsa":                            "error",
		"_dmarc.example.org. TXT":             "differs",
		"_smtp._tls.example.org. TXT":         "error",
		"_submissions._tcp.example.org. SRV":  "ok",
		"_submission._tcp.example.org. SRV":   "differs",
		"_imaps._tcp.example.org. SRV":        "ok",
		"_imap._tcp.example.org. SRV":         "differs",
		"_pop3._tcp.example.org. SRV":         "differs",
		"_pop3s._tcp.example.org. SRV":        "missing",
		"mta-sts.example.org. CNAME":          "ok",
		"autoconfig.example.org. CNAME":       "missing",
		"autodiscover.example.org. CNAME":     "missing",
		"_autodiscover._tcp.example.org. SRV": "missing",
		"_mta-sts.example.org. TXT":           "missing",
	}
	for k, v := range want {
		if status[k] != v {
			t.Errorf("%s: %q, want %q (all: %v)", k, status[k], v, status)
		}
	}
	if code, _, _ := run(t, "check", "--resolver", "not-an-address", "example.org", "--data", dir); code != 2 {
		t.Errorf("a bad resolver address: exit %d, want 2", code)
	}
}

// TestDKIMSign signs a message with a domain's stored keys and checks it
// with "dkim verify" against the records "dns" prints.
func TestDKIMSign(t *testing.T) {
	dir, recs := newDomainRecords(t)
	var zone strings.Builder
	for _, r := range recs {
		if strings.Contains(r.Name, "._domainkey.") {
			zone.WriteString(r.Name + " TXT " + dnsx.ZoneTXT(r.Value) + "\n")
		}
	}
	srv := dnstest.Start(t, zone.String())
	msg := "From: Ann <ann@example.org>\r\nTo: bob@example.net\r\nSubject: signed by hand\r\n\r\nHello.\r\n"
	code, signed, stderr := runStdin(t, msg, "dkim", "sign", "--domain", "example.org", "--data", dir)
	if code != 0 || strings.Count(signed, "DKIM-Signature:") != 2 || !strings.HasSuffix(signed, msg) {
		t.Fatalf("dkim sign: %d %s %s", code, signed, stderr)
	}
	code, out, stderr := runStdin(t, signed, "dkim", "verify", "--json", "--resolver", srv.Addr())
	if code != 0 || strings.Count(out, `"result": "pass"`) != 2 {
		t.Errorf("dkim verify of the signed message: %d %s %s", code, out, stderr)
	}
	for _, args := range [][]string{
		{"dkim", "sign", "--data", dir},
		{"dkim", "sign", "--domain", "nowhere.example", "--data", dir},
	} {
		if code, _, _ := runStdin(t, msg, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// seePublished publishes domain's DKIM keys in a DNS zone and has one
// round of the server's rotation job look at them, without activating.
func seePublished(t *testing.T, dir, domain string) {
	t.Helper()
	ctx := t.Context()
	cfg, st := openTestInstance(t, dir)
	defer st.Close()
	svc := instance.Accounts(cfg, st)
	keys, err := svc.DKIMKeys(ctx, domain)
	if err != nil {
		t.Fatal(err)
	}
	zone := dnsx.NewZone()
	if err := zone.AddDomain(domain); err != nil {
		t.Fatal(err)
	}
	recs, err := domainRecords(cfg, domain, keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if strings.Contains(r.Name, "._domainkey.") {
			if err := zone.Add(r.Name + " TXT " + dnsx.ZoneTXT(r.Value)); err != nil {
				t.Fatal(err)
			}
		}
	}
	events, err := svc.AdvanceDKIM(ctx, dnsx.NewStub(zone, nil), account.DKIMRotation{})
	if err != nil || len(events) != 2 || events[0].Kind != account.DKIMSeenPublished {
		t.Fatalf("a round of the rotation job: %+v, %v", events, err)
	}
}

// newDomainRecords adds example.org to a new instance and returns its data
// directory and the records "sealpost dns" asks to publish.
func newDomainRecords(t *testing.T) (string, []dnsRecord) {
	t.Helper()
	dir := instanceDir(t)
	if code, _, stderr := run(t, "domain", "add", "example.org", "--data", dir); code != 0 {
		t.Fatalf("domain add: %s", stderr)
	}
	_, out, _ := run(t, "dns", "--json", "example.org", "--data", dir)
	var recs []dnsRecord
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatal(err)
	}
	return dir, recs
}

// instanceDir returns a data directory whose config names the host
// mail.example.net.
func instanceDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	toml := "hostname = \"mail.example.net\"\ndata_dir = \"" + dir + "\"\n[tls]\nmode = \"self-signed\"\n"
	if err := os.WriteFile(filepath.Join(dir, "sealpost.toml"), []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}
