package smtp

import (
	"crypto/tls"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestReceivedGolden(t *testing.T) {
	when := time.Date(2026, 3, 1, 12, 30, 0, 0, time.FixedZone("", 3600))
	one := []Path{{Local: "user", Domain: "example.org"}}
	two := []Path{{Local: "a", Domain: "example.org"}, {Local: "b", Domain: "example.org"}}
	cases := []struct {
		name string
		r    Received
	}{
		{"plain SMTP", Received{Helo: "client.example", RemoteIP: netip.MustParseAddr("192.0.2.1"), By: "mx.example.org", ID: "abc123", Recipients: one, Time: when}},
		{"ESMTPS with TLS", Received{Helo: "client.example", RemoteName: "mail.client.example", RemoteIP: netip.MustParseAddr("2001:db8::25"), By: "mx.example.org", ESMTP: true, TLS: true, TLSVersion: tls.VersionTLS13, TLSCipher: tls.TLS_AES_128_GCM_SHA256, ID: "abc123", Recipients: one, Time: when}},
		{"ESMTPSA submission, two recipients", Received{Helo: "[192.0.2.9]", RemoteIP: netip.MustParseAddr("::ffff:192.0.2.9"), By: "mx.example.org", ESMTP: true, TLS: true, Auth: true, TLSVersion: tls.VersionTLS12, TLSCipher: tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, ID: "x", Recipients: two, Time: when}},
		{"UTF8SMTPS", Received{Helo: "client.example", RemoteIP: netip.MustParseAddr("192.0.2.1"), By: "mx.example.org", ESMTP: true, UTF8: true, TLS: true, Recipients: []Path{{Local: "jörg", Domain: "example.org"}}, Time: when}},
		{"hostile HELO and ID", Received{Helo: "evil (x) \\ \r\nX-Injected: 1", RemoteName: "a(b)", RemoteIP: netip.MustParseAddr("192.0.2.1"), By: "mx.example.org", ESMTP: true, ID: "bad id\r\n", Time: when}},
	}
	var b strings.Builder
	for _, c := range cases {
		b.WriteString("# " + c.name + "\n" + c.r.String() + ReturnPath(Path{Local: "sender", Domain: "example.net"}) + "\n")
	}
	b.WriteString(ReturnPath(Path{}))
	b.WriteString(ReturnPath(Path{Local: "a b", Quoted: true, Domain: "example.net"}))
	compareGolden(t, "testdata/received.golden", []byte(b.String()))
}

func TestReceivedIsOneHeaderField(t *testing.T) {
	r := Received{Helo: "x\r\nBcc: victim@example.org", RemoteName: "y\nz", RemoteIP: netip.MustParseAddr("192.0.2.1"), By: "mx\r\n", ID: "i\nd", Time: time.Unix(0, 0).UTC()}
	s := r.String()
	if !strings.HasSuffix(s, "\r\n") {
		t.Fatalf("no final CRLF: %q", s)
	}
	for i, line := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if i > 0 && !strings.HasPrefix(line, "\t") {
			t.Errorf("line %d is not a continuation: %q", i, line)
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("stray line break in %q", line)
		}
	}
}

func TestProtocol(t *testing.T) {
	tests := []struct {
		r    Received
		want string
	}{
		{Received{}, "SMTP"},
		{Received{ESMTP: true}, "ESMTP"},
		{Received{ESMTP: true, TLS: true}, "ESMTPS"},
		{Received{ESMTP: true, Auth: true}, "ESMTPA"},
		{Received{ESMTP: true, TLS: true, Auth: true}, "ESMTPSA"},
		{Received{ESMTP: true, UTF8: true}, "UTF8SMTP"},
		{Received{ESMTP: true, UTF8: true, TLS: true, Auth: true}, "UTF8SMTPSA"},
	}
	for _, tt := range tests {
		if got := tt.r.Protocol(); got != tt.want {
			t.Errorf("%+v: %s, want %s", tt.r, got, tt.want)
		}
	}
}
