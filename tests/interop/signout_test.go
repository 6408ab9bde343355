package interop

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAccountSignOut drives `account sessions` and `account signout`
// through the binary against a running `sealpost dev`: they reach it
// through the admin socket and end a live IMAP IDLE session; a second
// server on the same data directory is refused; once the server is gone,
// both commands say there is no live session.
func TestAccountSignOut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := startDev(t, dir, freePortBase(t), 10*time.Second)
	user := d.config.User

	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", d.addr(d.config.Ports["imaps"]),
		&tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	readUntil := func(prefix string) {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v", prefix, err)
			}
			if strings.HasPrefix(line, prefix) {
				return
			}
		}
	}
	readUntil("* OK")
	io.WriteString(conn, "a LOGIN "+user+" \""+d.config.Password+"\"\r\nb SELECT INBOX\r\nc IDLE\r\n")
	readUntil("a OK")
	readUntil("b OK")
	readUntil("+ ")

	data := []string{"--data", dir}
	res := sealpost(t, "", append([]string{"account", "sessions", "--json", user}, data...)...)
	var list struct {
		Sessions []struct {
			ID       uint64 `json:"id"`
			Protocol string `json:"protocol"`
		} `json:"sessions"`
		ServerRunning bool `json:"server_running"`
	}
	if res.code != 0 || json.Unmarshal([]byte(res.stdout), &list) != nil {
		t.Fatalf("account sessions: exit %d %s %s", res.code, res.stdout, res.stderr)
	}
	if !list.ServerRunning || len(list.Sessions) != 1 || list.Sessions[0].Protocol != "imap" {
		t.Fatalf("account sessions: %+v", list)
	}

	second := sealpost(t, "", "serve", "-config", filepath.Join(dir, "sealpost.toml"))
	if second.code == 0 || !strings.Contains(second.stderr, "another Sealpost server is running") {
		t.Errorf("a second server on the data directory: exit %d, %s", second.code, second.stderr)
	}

	res = sealpost(t, "", append([]string{"account", "signout", user}, data...)...)
	if res.code != 0 || !strings.Contains(res.stdout, "1 session(s) ended") {
		t.Fatalf("account signout: exit %d %s %s", res.code, res.stdout, res.stderr)
	}
	conn.SetReadDeadline(time.Now().Add(time.Second))
	var ne net.Error
	if _, err := io.Copy(io.Discard, r); errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("the IDLE session was not closed within 1s of the sign-out: %v", err)
	}

	d.stop(t, 10*time.Second)
	res = sealpost(t, "", append([]string{"account", "sessions", user}, data...)...)
	if res.code != 0 || !strings.Contains(res.stdout, "no server is running") {
		t.Errorf("account sessions with no server: exit %d %s %s", res.code, res.stdout, res.stderr)
	}
	res = sealpost(t, "", append([]string{"account", "signout", user}, data...)...)
	if res.code != 0 || !strings.Contains(res.stdout, "no server is running") {
		t.Errorf("account signout with no server: exit %d %s %s", res.code, res.stdout, res.stderr)
	}
}
