package smtp

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	ascii := PathOptions{}
	mail := PathOptions{Null: true}
	rcpt := PathOptions{Postmaster: true}
	utf := PathOptions{UTF8: true}
	tests := []struct {
		in   string
		opt  PathOptions
		want Path
		str  string // String(); "" means same as want's input without brackets
		code int    // expected error code; 0: success
	}{
		{in: "<user@example.org>", want: Path{Local: "user", Domain: "example.org"}, str: "user@example.org"},
		{in: "<First.Last+tag@Sub.Example.ORG>", want: Path{Local: "First.Last+tag", Domain: "Sub.Example.ORG"}, str: "First.Last+tag@Sub.Example.ORG"},
		{in: `<"a@evil.example"@ours.example>`, want: Path{Local: "a@evil.example", Quoted: true, Domain: "ours.example"}, str: `"a@evil.example"@ours.example`},
		{in: `<"user"@example.org>`, want: Path{Local: "user", Quoted: true, Domain: "example.org"}, str: "user@example.org"},
		{in: `<"a b\"c\\d"@example.org>`, want: Path{Local: `a b"c\d`, Quoted: true, Domain: "example.org"}, str: `"a b\"c\\d"@example.org`},
		{in: `<"\a"@example.org>`, want: Path{Local: "a", Quoted: true, Domain: "example.org"}, str: "a@example.org"},
		{in: `<"a>b"@example.org>`, want: Path{Local: "a>b", Quoted: true, Domain: "example.org"}, str: `"a>b"@example.org`},
		{in: "<@relay1.example,@relay2.example:user@example.org>", want: Path{Local: "user", Domain: "example.org", HadRoute: true}, str: "user@example.org"},
		{in: "<user@[192.0.2.1]>", want: Path{Local: "user", IPLiteral: netip.MustParseAddr("192.0.2.1")}, str: "user@[192.0.2.1]"},
		{in: "<user@[IPv6:2001:db8::1]>", want: Path{Local: "user", IPLiteral: netip.MustParseAddr("2001:db8::1")}, str: "user@[IPv6:2001:db8::1]"},
		{in: "<user@[ipv6:::ffff:192.0.2.1]>", want: Path{Local: "user", IPLiteral: netip.MustParseAddr("::ffff:192.0.2.1")}, str: "user@[IPv6:::ffff:192.0.2.1]"},
		{in: "<>", opt: mail, want: Path{}, str: ""},
		{in: "<Postmaster>", opt: rcpt, want: Path{Local: "Postmaster"}, str: "Postmaster"},
		{in: "<postmaster@example.org>", opt: rcpt, want: Path{Local: "postmaster", Domain: "example.org"}, str: "postmaster@example.org"},
		{in: "<jörg@bücher.example>", opt: utf, want: Path{Local: "jörg", Domain: "bücher.example"}, str: "jörg@bücher.example"},
		{in: "<\"jö rg\"@example.org>", opt: utf, want: Path{Local: "jö rg", Quoted: true, Domain: "example.org"}, str: "\"jö rg\"@example.org"},
		{in: "<a@" + strings.Repeat("a", 63) + ".example>", want: Path{Local: "a", Domain: strings.Repeat("a", 63) + ".example"}, str: "a@" + strings.Repeat("a", 63) + ".example"},
		{in: "<" + strings.Repeat("l", 64) + "@example.org>", want: Path{Local: strings.Repeat("l", 64), Domain: "example.org"}, str: strings.Repeat("l", 64) + "@example.org"},

		// Refused.
		{in: "<>", opt: rcpt, code: 501},
		{in: "<Postmaster>", opt: mail, code: 501},
		{in: "<user>", code: 501},
		{in: "user@example.org", code: 501},
		{in: "<user@example.org", code: 501},
		{in: "<a@b@c.example>", code: 501},
		{in: "<a@ours.example,b@evil.example>", code: 501},
		{in: "<a@ours.example b@evil.example>", code: 501},
		{in: "<a%evil.example@ours.example>", want: Path{Local: "a%evil.example", Domain: "ours.example"}, str: "a%evil.example@ours.example"},
		{in: "<a!evil.example@ours.example>", want: Path{Local: "a!evil.example", Domain: "ours.example"}, str: "a!evil.example@ours.example"},
		{in: "<a\x00b@example.org>", code: 501},
		{in: "<a@exa\x00mple.org>", code: 501},
		{in: "<\"a\x01\"@example.org>", code: 501},
		{in: "<a\r\n@example.org>", code: 501},
		{in: "<jörg@example.org>", opt: ascii, code: 553},
		{in: "<a@bücher.example>", opt: ascii, code: 553},
		{in: "<a\xff@example.org>", opt: utf, code: 501},
		{in: "<a..b@example.org>", code: 501},
		{in: "<.a@example.org>", code: 501},
		{in: "<a.@example.org>", code: 501},
		{in: "<\"\"@example.org>", code: 501},
		{in: "<@example.org>", code: 501},
		{in: "<a@>", code: 501},
		{in: "<a@example.org.>", code: 501},
		{in: "<a@-example.org>", code: 501},
		{in: "<a@exa_mple.org>", code: 501},
		{in: "<a@" + strings.Repeat("a", 64) + ".example>", code: 501},
		{in: "<" + strings.Repeat("l", 65) + "@example.org>", code: 501},
		{in: "<a@" + strings.Repeat("abcdefgh.", 28) + "example>", code: 501},
		{in: "<a@[1.2.3]>", code: 501},
		{in: "<a@[01.2.3.4]>", code: 501},
		{in: "<a@[IPv6:1.2.3.4]>", code: 501},
		{in: "<a@[2001:db8::1]>", code: 501},
		{in: "<a@[IPv6:fe80::1%eth0]>", code: 501},
		{in: "<a@[tag:content]>", code: 501},
		{in: "<a@[192.0.2.1]x>", code: 501},
		{in: "<@relay.example:>", code: 501},
		{in: "<@relay.example,user@example.org>", code: 501},
		{in: "<@relay..example:user@example.org>", code: 501},
		{in: "<@:user@example.org>", code: 501},
		{in: "<user@example.org>x", code: 501},
		{in: `<"unterminated@example.org>`, code: 501},
		{in: `<"a\` + "\x00" + `"@example.org>`, code: 501},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePath(tt.in, tt.opt)
			if tt.code != 0 {
				r, ok := ReplyOf(err)
				if !ok || r.Code != tt.code {
					t.Fatalf("ParsePath(%q) = %+v, %v; want error %d", tt.in, p, err, tt.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePath(%q): %v", tt.in, err)
			}
			if p != tt.want {
				t.Errorf("ParsePath(%q) = %+v, want %+v", tt.in, p, tt.want)
			}
			if s := p.String(); s != tt.str {
				t.Errorf("String() = %q, want %q", s, tt.str)
			}
			// The canonical form must parse back to the same mailbox.
			if !p.IsNull() && !p.IsPostmaster() {
				q, err := ParsePath("<"+p.String()+">", PathOptions{UTF8: true})
				if err != nil {
					t.Fatalf("reparse %q: %v", p.String(), err)
				}
				q.Quoted, p.Quoted, q.HadRoute, p.HadRoute = false, false, false, false
				if q != p {
					t.Errorf("reparse %q = %+v, want %+v", p.String(), q, p)
				}
			}
		})
	}
}

func TestPathLimit(t *testing.T) {
	// 64 + 1 + 189 + 2 = 256 octets: at the limit of RFC 5321 4.5.3.1.3.
	dom := strings.Repeat("d", 60) + "." + strings.Repeat("d", 60) + "." + strings.Repeat("d", 59) + ".example"
	local := strings.Repeat("l", 64)
	in := "<" + local + "@" + dom + ">"
	if len(in) != 256 {
		t.Fatalf("test path is %d octets", len(in))
	}
	if _, err := ParsePath(in, PathOptions{}); err != nil {
		t.Errorf("256-octet path: %v", err)
	}
	in = "<" + local + "@d" + dom + ">"
	if _, err := ParsePath(in, PathOptions{}); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("257-octet path: err = %v, want path too long", err)
	}
}

func TestParseMailbox(t *testing.T) {
	tests := []struct {
		in, want string
		utf8, ok bool
	}{
		{"user@example.org", "user@example.org", false, true},
		{`"a b"@example.org`, `"a b"@example.org`, false, true},
		{"jörg@example.org", "jörg@example.org", true, true},
		{"jörg@example.org", "", false, false},
		{"<user@example.org>", "", false, false},
		{"user@example.org extra", "", false, false},
		{"user", "", false, false},
	}
	for _, tt := range tests {
		p, err := ParseMailbox(tt.in, tt.utf8)
		if (err == nil) != tt.ok || (tt.ok && p.String() != tt.want) {
			t.Errorf("ParseMailbox(%q, %v) = %q, %v", tt.in, tt.utf8, p.String(), err)
		}
	}
}

func TestPathUTF8(t *testing.T) {
	p := Path{Local: "jörg", Domain: "example.org"}
	if !p.UTF8() {
		t.Error("UTF8() = false for a non-ASCII local part")
	}
	if (Path{Local: "a", Domain: "example.org"}).UTF8() {
		t.Error("UTF8() = true for ASCII")
	}
}
