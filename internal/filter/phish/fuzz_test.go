package phish

import (
	"fmt"
	"testing"
	"time"
	"unicode/utf8"
)

var timeZero time.Time

// FuzzLookalike feeds arbitrary host names to the domain code: parsing
// (UTS #46 mapping, Punycode, the public suffix list), the skeleton and
// the comparisons must not panic, and the skeleton must be a fixed point.
func FuzzLookalike(f *testing.F) {
	for _, s := range []string{
		"example.org", "exаmple.org", "xn--exmple-4nf.org", "examp1e.org", "example.org.login.test",
		"paypal-secure.com", "xn--", "xn--zz.com", "..", ".", "-.-", "a.b.c.d.e.f.g", "[::1]",
		"ＥＸＡＭＰＬＥ．ＯＲＧ", "xn--80ak6aa92e.com", "\u202eexample.org", "例え.テスト", "a\x00b.com",
		"gοοd.good-domain.test", "ա.com", "xn--e1afmkfd.xn--p1ai",
	} {
		f.Add(s)
	}
	k := known.Prepare()
	f.Fuzz(func(t *testing.T, host string) {
		timer := time.AfterFunc(2*time.Second, func() { panic(fmt.Sprintf("hang on %q", host)) })
		defer timer.Stop()
		fs := LookalikeDomain(host, k)
		for _, x := range fs {
			if x.Name == "" || x.Score <= 0 || x.Reason == "" {
				t.Fatalf("empty finding %+v", x)
			}
		}
		Links([]Link{{Text: host, Href: "http://" + host + "/", Host: host}}, k)
		FreshDomain(host, timeZero, timeZero)
		if !utf8.ValidString(host) {
			return
		}
		s := skeleton(host)
		if s2 := skeleton(s); s2 != s {
			t.Fatalf("skeleton not a fixed point: %q → %q → %q", host, s, s2)
		}
		r := []rune(host)
		if withinOneEdit(r, []rune(s)) != withinOneEdit([]rune(s), r) {
			t.Fatalf("withinOneEdit not symmetric for %q, %q", host, s)
		}
	})
}

// FuzzDisplayName feeds arbitrary display names and addresses.
func FuzzDisplayName(f *testing.F) {
	f.Add("Ann Smith", "ann@evil.test")
	f.Add("ann@example.org", "x@evil.test")
	f.Add("example.org IT", "it@evil.test")
	f.Add("PayPal", "service@paypal.com")
	f.Add("\"@.\"", "@")
	f.Add("Аnn Smith", "")
	k := known.Prepare()
	f.Fuzz(func(t *testing.T, name, addr string) {
		DisplayName(Person{name, addr}, k)
	})
}

// FuzzWording feeds arbitrary text to the phrase matcher.
func FuzzWording(f *testing.F) {
	f.Add("Your account is suspended", "Click here to verify your password within 24 hours.")
	f.Add("", "ẞ ß ñ ä \u0301\u0301 ﬁ")
	f.Add("x", string([]byte{0xff, 0xfe, 'a'}))
	f.Fuzz(func(t *testing.T, subject, text string) {
		Wording(subject, text)
	})
}

// FuzzLinks feeds arbitrary hrefs and texts.
func FuzzLinks(f *testing.F) {
	f.Add("https://www.paypal.com/", "http://evil.test/", "")
	f.Add("Log in", "http://%77%77%77.evil.test/", "")
	f.Add("", "http://user@[::1]:80/", "::1")
	f.Add("www.example.org", "http://3221225991/", "")
	f.Fuzz(func(t *testing.T, text, href, host string) {
		Links([]Link{{Text: text, Href: href, Host: host, HTML: true}, {Href: href, Form: true}}, known)
	})
}
