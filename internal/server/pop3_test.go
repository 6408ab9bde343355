package server

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"
)

// TestPOP3Listeners: listeners.pop3 and listeners.pop3s start POP3, the
// first in the clear with STLS, the second over implicit TLS.
func TestPOP3Listeners(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listeners.POP3 = "127.0.0.1:0"
	cfg.Listeners.POP3S = "127.0.0.1:0"
	srv, _, _ := startServer(t, cfg)
	addrs := srv.Addrs()
	if addrs["pop3"] == nil || addrs["pop3s"] == nil {
		t.Fatalf("listeners = %v, want pop3 and pop3s", addrs)
	}

	conn, err := net.DialTimeout("tcp", addrs["pop3"].String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	readOK := func(r *bufio.Reader, what string) {
		t.Helper()
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "+OK") {
			t.Fatalf("%s: %q %v", what, line, err)
		}
	}
	readOK(r, "pop3 greeting")
	conn.Write([]byte("STLS\r\n"))
	readOK(r, "STLS")
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: cfg.Hostname})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("STLS handshake: %v", err)
	}
	tc.Write([]byte("QUIT\r\n"))
	readOK(bufio.NewReader(tc), "QUIT after STLS")

	c2, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addrs["pop3s"].String(),
		&tls.Config{InsecureSkipVerify: true, ServerName: cfg.Hostname})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	readOK(bufio.NewReader(c2), "pop3s greeting")
}
