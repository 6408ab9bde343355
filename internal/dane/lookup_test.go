package dane

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

func TestLookup(t *testing.T) {
	p := newPKI(t)
	ee := tlsa(t, 3, 1, 1, p.leaf)
	ta := tlsa(t, 2, 1, 1, p.inter)
	pkix := tlsa(t, 0, 1, 1, p.root)
	zone := "$SECURE secure.test.\n" +
		"mx.secure.test. A 127.0.0.1\n" +
		zoneTLSA("_25._tcp.mx.secure.test.", ee) +
		zoneTLSA("_25._tcp.mx.secure.test.", ta) +
		"notlsa.secure.test. A 127.0.0.1\n" +
		"unusable.secure.test. A 127.0.0.1\n" +
		zoneTLSA("_25._tcp.unusable.secure.test.", pkix) +
		"mixed.secure.test. A 127.0.0.1\n" +
		zoneTLSA("_25._tcp.mixed.secure.test.", pkix) +
		zoneTLSA("_25._tcp.mixed.secure.test.", ee) +
		"broken.secure.test. A 127.0.0.1\n" +
		"$SERVFAIL _25._tcp.broken.secure.test. TLSA\n" +
		"$SERVFAIL cnamefail.secure.test. CNAME\n" +
		"alias.secure.test. CNAME mx.secure.test.\n" +
		"alias2.secure.test. CNAME notlsa.secure.test.\n" +
		zoneTLSA("_25._tcp.alias2.secure.test.", ee) +
		"submission.secure.test. A 127.0.0.1\n" +
		zoneTLSA("_465._tcp.submission.secure.test.", ee) +
		"tlsaalias.secure.test. A 127.0.0.1\n" +
		"_25._tcp.tlsaalias.secure.test. CNAME _25._tcp.mx.secure.test.\n" +
		"mx.insecure.test. A 127.0.0.1\n" +
		zoneTLSA("_25._tcp.mx.insecure.test.", ee) +
		"toinsecure.secure.test. CNAME mx.insecure.test.\n" +
		"fromsecure.insecure.test. CNAME mx.secure.test.\n"
	srv := dnstest.Start(t, zone)
	r, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host     string
		port     int
		want     Status
		wantBase string
		wantTLSA []dnsx.TLSA
	}{
		{"mx.secure.test", 25, StatusSecure, "mx.secure.test", []dnsx.TLSA{ee, ta}},
		{"MX.Secure.Test.", 25, StatusSecure, "mx.secure.test", []dnsx.TLSA{ee, ta}},
		{"notlsa.secure.test", 25, StatusNone, "", nil},
		{"nxdomain.secure.test", 25, StatusNone, "", nil},
		{"unusable.secure.test", 25, StatusUnusable, "unusable.secure.test", nil},
		{"mixed.secure.test", 25, StatusSecure, "mixed.secure.test", []dnsx.TLSA{ee}},
		{"broken.secure.test", 25, StatusDefer, "", nil},
		{"cnamefail.secure.test", 25, StatusDefer, "", nil},
		{"alias.secure.test", 25, StatusSecure, "mx.secure.test", []dnsx.TLSA{ee, ta}},
		{"alias2.secure.test", 25, StatusSecure, "alias2.secure.test", []dnsx.TLSA{ee}},
		{"submission.secure.test", 465, StatusSecure, "submission.secure.test", []dnsx.TLSA{ee}},
		{"submission.secure.test", 25, StatusNone, "", nil},
		{"tlsaalias.secure.test", 25, StatusSecure, "tlsaalias.secure.test", []dnsx.TLSA{ee, ta}},
		{"mx.insecure.test", 25, StatusNone, "", nil},
		{"toinsecure.secure.test", 25, StatusNone, "", nil},
		{"fromsecure.insecure.test", 25, StatusNone, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			recs, st, err := Lookup(context.Background(), r, tc.host, tc.port)
			if st != tc.want {
				t.Fatalf("status %v (%v), want %v", st, err, tc.want)
			}
			if (err != nil) != (st == StatusDefer) {
				t.Errorf("error %v with status %v", err, st)
			}
			if recs.BaseDomain != tc.wantBase {
				t.Errorf("base domain %q, want %q", recs.BaseDomain, tc.wantBase)
			}
			if !slices.EqualFunc(recs.TLSA, tc.wantTLSA, func(a, b dnsx.TLSA) bool {
				return a.Usage == b.Usage && a.Selector == b.Selector && a.MatchingType == b.MatchingType && bytes.Equal(a.Data, b.Data)
			}) {
				t.Errorf("records %v, want %v", recs.TLSA, tc.wantTLSA)
			}
		})
	}
	recs, _, _ := Lookup(context.Background(), r, "alias.secure.test", 25)
	if got, want := recs.Names(), []string{"mx.secure.test", "alias.secure.test"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}

// TestHandshake runs real TLS handshakes on loopback: the server presents
// its chain, the client uses TLSConfig with records from Lookup.
func TestHandshake(t *testing.T) {
	p := newPKI(t)
	tests := []struct {
		name   string
		record dnsx.TLSA
		server tlsCertSpec
		ok     bool
	}{
		{"DANE-EE", tlsa(t, 3, 1, 1, p.leaf), tlsCertSpec{p.leaf, []*certKey{p.inter}}, true},
		{"DANE-TA intermediate", tlsa(t, 2, 0, 2, p.inter), tlsCertSpec{p.leaf, []*certKey{p.inter}}, true},
		{"DANE-TA root sent", tlsa(t, 2, 1, 1, p.root), tlsCertSpec{p.leaf, []*certKey{p.inter, p.root}}, true},
		{"DANE-EE expired", tlsa(t, 3, 1, 1, p.expired), tlsCertSpec{p.expired, []*certKey{p.inter}}, true},
		{"DANE-TA expired", tlsa(t, 2, 1, 1, p.inter), tlsCertSpec{p.expired, []*certKey{p.inter}}, false},
		{"DANE-TA wrong name", tlsa(t, 2, 1, 1, p.inter), tlsCertSpec{p.other, []*certKey{p.inter}}, false},
		{"wrong record", tlsa(t, 3, 1, 1, p.other), tlsCertSpec{p.leaf, []*certKey{p.inter}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := dnstest.Start(t, "$SECURE example.test.\nmx.example.test. A 127.0.0.1\n"+
				zoneTLSA("_25._tcp.mx.example.test.", tc.record))
			r, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{Attempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			recs, st, err := Lookup(context.Background(), r, "mx.example.test", 25)
			if st != StatusSecure || err != nil {
				t.Fatalf("Lookup: %v, %v", st, err)
			}
			sni, err := handshake(t, tlsCert(tc.server.leaf, tc.server.chain...), TLSConfig(recs))
			if tc.ok && err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if !tc.ok {
				if !errors.Is(err, ErrNoMatch) {
					t.Fatalf("handshake = %v, want ErrNoMatch", err)
				}
				return
			}
			if sni != "mx.example.test" {
				t.Errorf("server saw SNI %q, want the TLSA base domain", sni)
			}
		})
	}
}

type tlsCertSpec struct {
	leaf  *certKey
	chain []*certKey
}

// handshake serves cert on a loopback listener, connects with cfg and
// exchanges a line. It returns the SNI the server saw and the client's
// error.
func handshake(t *testing.T, cert tls.Certificate, cfg *tls.Config) (string, error) {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sni := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			sni <- ""
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		tc := c.(*tls.Conn)
		if tc.Handshake() != nil {
			sni <- ""
			return
		}
		sni <- tc.ConnectionState().ServerName
		io.WriteString(tc, "220 ok\r\n")
	}()
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", l.Addr().String(), cfg)
	if err != nil {
		<-sni
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 8)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "220 ok\r\n" {
		t.Fatalf("read %q, %v", buf, err)
	}
	return <-sni, nil
}
