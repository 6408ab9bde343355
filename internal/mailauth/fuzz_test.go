package mailauth

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/arc"
	"sealpost.dev/sealpost/internal/authres"
	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/dmarc"
	"sealpost.dev/sealpost/internal/mimeinfo"
	"sealpost.dev/sealpost/internal/spf"
)

// FuzzFromDomains compares the From domains found by plainFromDomain, for
// the usual forms of the field, with those mimeinfo's parser reads.
func FuzzFromDomains(f *testing.F) {
	for _, s := range []string{" Joe <joe@bench.example>\r\n", " joe@example.com\r\n", " <a@b>\r\n", " \"Joe\" <j@x.example>\r\n",
		" a@b, c@d\r\n", " Joe (work) <j@x>\r\n", " g: a@b;\r\n", " Joe\r\n <j@x.example>\r\n", " <@route:a@b>\r\n", " a@@b\r\n",
		" <a@MISSING_DOMAIN>\r\n", " =?utf-8?q?J=C3=B6?= <j@x.example>\r\n", " <a@b> x\r\n", " x<a@b>\r\n", " @b\r\n", " a@\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		raw := []byte("From:" + value)
		want := func() []string {
			var out []string
			for _, a := range mimeinfo.ParseAddressList(unfold(value)) {
				if !a.Group && a.Host != "" && a.Host != mimeinfo.MissingDomain {
					out = append(out, a.Host)
				}
			}
			return out
		}()
		h := header{fields: dkim.Header{{Name: "From", Raw: raw}}}
		if got := h.fromDomains(); !slices.Equal(got, want) {
			t.Fatalf("fromDomains = %q, the parser reads %q", got, want)
		}
	})
}

// FuzzIsName compares isName, which tells lengths first, with
// strings.EqualFold, and hasARCField with arc.Present.
func FuzzIsName(f *testing.F) {
	for _, s := range []string{"From", "from", "\xc5\xbfrom", "FROM ", "ARC-\xc5\xbfeal", "arc-seal", "Authentication-Results", "\xe2\x84\xaaey"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, field string) {
		for _, name := range []string{"From", "Authentication-Results", arc.SealField, arc.MessageSigField, arc.AuthResultsField, "Key"} {
			if got, want := isName(field, name), strings.EqualFold(field, name); got != want {
				t.Fatalf("isName(%q, %q) = %v, EqualFold %v", field, name, got, want)
			}
		}
		h := dkim.Header{{Name: "To"}, {Name: field}}
		if got, want := hasARCField(h), arc.Present(h); got != want {
			t.Fatalf("hasARCField(%q) = %v, arc.Present %v", field, got, want)
		}
	})
}

// referenceSPFResult is spfResult as it was before its parts were put
// together by the caller (spfReason, spfProp): through authres.SPF.
func referenceSPFResult(r spf.Received) authres.Result {
	mailFrom, helo := r.Sender, ""
	if r.Identity == spf.IdentityHELO {
		mailFrom, helo = "", r.HELO
	}
	reason := r.Problem
	if reason == "" && r.Mechanism != "" {
		reason = "matched " + r.Mechanism
	}
	return authres.SPF(string(r.Result), reason, mailFrom, helo)
}

// FuzzAuthResultsField compares the field the check writes
// (authResultsField, its SPF results put together in place) with the
// results made as before, through authres.SPF, written by authres.Header.
func FuzzAuthResultsField(f *testing.F) {
	f.Add("pass", "bounce@example.com", "mail.example.com", "ip4:192.0.2.0/24", "", false, "none", "example.com", 1)
	f.Add("permerror", "", "mail.example.com", "", "too many DNS lookups", true, "", "x\r\ny", 0)
	f.Add("fail", "a@b", "", "all", "", false, "pass", "example.com", 6)
	f.Add("pass", "\"q w\"@example.com", "h", "a:mail.example.com/24 and more words to pass thirty-two", "", true, "pass", "d", 4)
	f.Fuzz(func(t *testing.T, result, sender, helo, mechanism, problem string, heloIdentity bool, heloResult, domain string, sigs int) {
		id := spf.IdentityMailFrom
		if heloIdentity {
			id = spf.IdentityHELO
		}
		res := Results{
			SPF:   spf.Received{Result: spf.Status(result), Identity: id, Sender: sender, HELO: helo, Mechanism: mechanism, Problem: problem},
			HELO:  spf.Received{Result: spf.Status(heloResult), Identity: spf.IdentityHELO, Sender: "postmaster@" + helo, HELO: helo, Mechanism: problem},
			ARC:   &arc.Result{Status: arc.StatusNone},
			DMARC: dmarc.Verdict{Result: dmarc.ResultPass, FromDomain: domain},
		}
		for i := range sigs % 8 {
			res.DKIM = append(res.DKIM, dkim.Result{Status: dkim.StatusPass, Signature: &dkim.Signature{}, Domain: domain,
				Selector: mechanism, HeaderB: problem, UnsignedBodyBytes: int64(i)})
		}
		c := Checker{AuthservID: "mx.sealpost.test"}
		got, gotErr := c.authResultsField(&res)
		rs := []authres.Result{referenceSPFResult(res.SPF)}
		if res.HELO.Result != "" {
			rs = append(rs, referenceSPFResult(res.HELO))
		}
		want, wantErr := authres.Header(c.AuthservID, c.appendOtherResults(rs, &res))
		if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("authResultsField =\n%q, %v\nwant\n%q, %v", got, gotErr, want, wantErr)
		}
	})
}

// FuzzWriteAuthResults compares the field the check writes (written
// straight from the results by writeAuthResults when it can) with the one
// authres.Header writes of the list of results (appendAuthResults): byte
// for byte, errors alike.
func FuzzWriteAuthResults(f *testing.F) {
	f.Add("mx.sealpost.test", "pass", "joe@bench.example", "ip4:192.0.2.10", "", "pass", "signature verified", "bench.example", "sel", "zv/Oo1wh", "none", "no ARC sets", "pass", "reject", "none", "", uint16(0x15))
	f.Add("mx", "fail", "\"a b\"@x", "", "problem", "fail", "", "x.example", "", "", "fail", "AMS(1) body hash", "fail", "quarantine", "quarantine", "lists.example", uint16(0x3f))
	f.Add("m x", "pass", "a@b", "all ", "", "PASS", "r\r\n", "D", "s", " ab cd\tefgh ", "pass", "", "pass", "", "", "", uint16(0xffff))
	f.Fuzz(func(t *testing.T, id, spfResult, sender, mechanism, problem, dkimStatus, dkimReason, domain, selector, b,
		arcStatus, arcReason, dmarcResult, requested, disposition, local string, shape uint16) {
		res := Results{
			SPF:   spf.Received{Result: spf.Status(spfResult), Identity: spf.IdentityMailFrom, Sender: sender, HELO: domain, Mechanism: mechanism, Problem: problem},
			ARC:   &arc.Result{Status: arc.Status(arcStatus), Reason: arcReason, OldestPass: int(shape >> 12)},
			DMARC: dmarc.Verdict{Result: dmarc.Result(dmarcResult), FromDomain: domain, Requested: dmarc.Policy(requested), Disposition: dmarc.Policy(disposition)},
		}
		if shape&1 != 0 {
			res.HELO = spf.Received{Result: spf.Status(spfResult), Identity: spf.IdentityHELO, Sender: "postmaster@" + domain, HELO: domain, Problem: problem}
		}
		for i := range int(shape>>1) & 3 {
			d := dkim.Result{Status: dkim.Status(dkimStatus), Reason: dkimReason, Domain: domain, Selector: selector,
				Algorithm: dkim.Algorithm(mechanism), HeaderB: b}
			if shape&8 != 0 {
				d.Signature = &dkim.Signature{}
			}
			if i == 1 && shape&16 != 0 {
				d.UnsignedBodyBytes = 10
			}
			res.DKIM = append(res.DKIM, d)
		}
		switch shape >> 5 & 3 {
		case 1:
			res.Exempted = local
		case 2:
			res.TrustedARC = local
		}
		c := Checker{AuthservID: id}
		got, gotErr := c.authResultsField(&res)
		want, wantErr := authres.Header(c.AuthservID, c.appendAuthResults(nil, &res))
		if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("authResultsField =\n%q, %v\nauthres.Header\n%q, %v", got, gotErr, want, wantErr)
		}
	})
}

// TestFromDomainsKnown checks that a From domain equal to a known one is
// that string, not a copy (no allocation), and that one in another case
// is read as written.
func TestFromDomainsKnown(t *testing.T) {
	h := header{fields: dkim.Header{{Name: "From", Raw: []byte("From: Joe <joe@Bench.example>\r\n")}}}
	known := []string{"bench.example", "Bench.example"}
	out := make([]string, 0, 1)
	if allocs := testing.AllocsPerRun(100, func() { out = h.appendFromDomains(out[:0], known) }); allocs != 0 || !slices.Equal(out, []string{"Bench.example"}) {
		t.Fatalf("appendFromDomains = %q with %v allocations, want [Bench.example] and none", out, allocs)
	}
	if out = h.appendFromDomains(out[:0], known[:1]); !slices.Equal(out, []string{"Bench.example"}) {
		t.Fatalf("appendFromDomains = %q, want [Bench.example]", out)
	}
}
