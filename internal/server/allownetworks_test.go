package server

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// TestAllowedNetworksWithRealClients: an account whose allow-list names
// 127.0.0.2 logs in over IMAP, POP3 and SMTP submission from 127.0.0.2,
// and is refused from 127.0.0.3 with the right password, the refusal
// logged with its reason.
func TestAllowedNetworksWithRealClients(t *testing.T) {
	cfg := testConfig(t)
	cfg.Listeners.IMAPS = "127.0.0.1:0"
	cfg.Listeners.POP3S = "127.0.0.1:0"
	cfg.Listeners.Submissions = "127.0.0.1:0"
	srv, _, _ := startServer(t, cfg)
	ctx := t.Context()
	const user, password = "ana@example.org", "correct horse battery staple"
	acc, err := srv.Accounts().AddAccount(ctx, user, password, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Accounts().AllowNetworks(ctx, user, "", []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}); err != nil {
		t.Fatal(err)
	}
	addrs := srv.Addrs()
	logins := map[string]func(c *bufio.ReadWriter) bool{
		"imaps":       func(c *bufio.ReadWriter) bool { return imapLogin(t, c, user, password) },
		"pop3s":       func(c *bufio.ReadWriter) bool { return pop3Login(t, c, user, password) },
		"submissions": func(c *bufio.ReadWriter) bool { return smtpLogin(t, c, user, password) },
	}
	for name, login := range logins {
		for _, from := range []string{"127.0.0.2", "127.0.0.3"} {
			ok := login(dialFrom(t, from, addrs[name].String(), cfg.Hostname))
			if want := from == "127.0.0.2"; ok != want {
				t.Errorf("%s login from %s: ok %v, want %v", name, from, ok, want)
			}
		}
	}
	es, err := srv.Accounts().Store.QueryLog(ctx, store.LogQuery{AccountID: acc.ID, Kind: "login"})
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, e := range es {
		switch {
		case e.RemoteIP.String() == "127.0.0.3" && e.Outcome == "fail" && e.Detail == "not allowed from this network":
			refused++
		case e.RemoteIP.String() == "127.0.0.2" && e.Outcome == "ok":
		default:
			t.Errorf("unexpected log entry %+v", e)
		}
	}
	if refused != 3 || len(es) != 6 {
		t.Errorf("log: %d entries, %d refusals from 127.0.0.3; want 6 and 3", len(es), refused)
	}
}

// dialFrom connects over TLS from the loopback address from.
func dialFrom(t *testing.T, from, addr, serverName string) *bufio.ReadWriter {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: serverName})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(15 * time.Second))
	return bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))
}

// exchange sends a line (none if empty) and returns the first reply line
// that starts with one of prefixes.
func exchange(t *testing.T, c *bufio.ReadWriter, line string, prefixes ...string) string {
	t.Helper()
	if line != "" {
		fmt.Fprintf(c, "%s\r\n", line)
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	for {
		reply, err := c.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", line, err)
		}
		for _, p := range prefixes {
			if strings.HasPrefix(reply, p) {
				return reply
			}
		}
	}
}

func imapLogin(t *testing.T, c *bufio.ReadWriter, user, password string) bool {
	exchange(t, c, "", "* OK")
	reply := exchange(t, c, fmt.Sprintf("a1 LOGIN %q %q", user, password), "a1 ")
	return strings.HasPrefix(reply, "a1 OK")
}

func pop3Login(t *testing.T, c *bufio.ReadWriter, user, password string) bool {
	exchange(t, c, "", "+OK")
	exchange(t, c, "USER "+user, "+OK", "-ERR")
	return strings.HasPrefix(exchange(t, c, "PASS "+password, "+OK", "-ERR"), "+OK")
}

func smtpLogin(t *testing.T, c *bufio.ReadWriter, user, password string) bool {
	exchange(t, c, "", "220 ")
	exchange(t, c, "EHLO client.example", "250 ")
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	return strings.HasPrefix(exchange(t, c, "AUTH PLAIN "+plain, "235", "535", "454", "5"), "235")
}
