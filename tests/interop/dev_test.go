package interop

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// devInstance is a running `sealpost dev`.
type devInstance struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan error
	dir    string
	config devJSON
}

type devJSON struct {
	Domain   string         `json:"domain"`
	User     string         `json:"user"`
	Password string         `json:"password"`
	Host     string         `json:"host"`
	Hostname string         `json:"hostname"`
	Ports    map[string]int `json:"ports"`
	Admin    int            `json:"admin"`
}

// startDev starts `sealpost dev` and waits for it to write dev.json,
// failing if that takes more than limit.
func startDev(t *testing.T, dir string, base int, limit time.Duration, extra ...string) *devInstance {
	t.Helper()
	jsonPath := filepath.Join(dir, "dev.json")
	var before time.Time
	if fi, err := os.Stat(jsonPath); err == nil {
		before = fi.ModTime()
	}
	d := &devInstance{dir: dir, out: new(syncBuffer), done: make(chan error, 1)}
	d.cmd = exec.Command(binary, append([]string{"dev", "--data", dir, "--port-base", fmt.Sprint(base)}, extra...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	start := time.Now()
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			<-d.done
		}
	})
	for time.Since(start) < limit {
		if fi, err := os.Stat(jsonPath); err == nil && fi.ModTime().After(before) {
			data, err := os.ReadFile(jsonPath)
			if err == nil && json.Unmarshal(data, &d.config) == nil {
				return d
			}
		}
		select {
		case err := <-d.done:
			t.Fatalf("sealpost dev exited early: %v\n%s", err, d.out)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("no dev.json within %v\n%s", limit, d.out)
	return nil
}

// stop sends SIGTERM and requires a clean exit within limit.
func (d *devInstance) stop(t *testing.T, limit time.Duration) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("sealpost dev exited with %v after SIGTERM\n%s", err, d.out)
		}
	case <-time.After(limit):
		t.Fatalf("sealpost dev still running %v after SIGTERM\n%s", limit, d.out)
	}
}

func (d *devInstance) addr(port int) string { return fmt.Sprintf("%s:%d", d.config.Host, port) }

func TestDev(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	base := freePortBase(t)
	d := startDev(t, dir, base, 10*time.Second)

	t.Run("dev.json", func(t *testing.T) {
		fi, err := os.Stat(filepath.Join(dir, "dev.json"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("dev.json mode %v, want 0600", fi.Mode().Perm())
		}
		c := d.config
		if c.Domain != "example.test" || c.User != "demo@example.test" || c.Host != "127.0.0.1" || len(c.Password) < 16 {
			t.Errorf("dev.json = %+v", c)
		}
		want := map[string]int{"smtp": 25, "submission": 587, "submissions": 465, "imap": 143,
			"imaps": 993, "pop3": 110, "pop3s": 995, "https": 443}
		for k, off := range want {
			if c.Ports[k] != base+off {
				t.Errorf("ports.%s = %d, want %d", k, c.Ports[k], base+off)
			}
		}
		if !strings.Contains(d.out.String(), c.Password) || !strings.Contains(d.out.String(), "demo@example.test") {
			t.Errorf("the client settings were not printed:\n%s", d.out)
		}
	})

	t.Run("openssl TLS 1.3", func(t *testing.T) {
		out := openssl(t, "s_client", "-connect", d.addr(d.config.Ports["https"]), "-servername", "mail.example.test", "-tls1_3")
		if !strings.Contains(out, "TLSv1.3") || !strings.Contains(out, "CN = mail.example.test") {
			t.Errorf("no TLS 1.3 handshake with the dev certificate:\n%s", out)
		}
	})

	t.Run("openssl TLS 1.1 refused", func(t *testing.T) {
		// SECLEVEL=0 lets the client offer TLS 1.1, so the refusal is the server's.
		out := openssl(t, "s_client", "-connect", d.addr(d.config.Ports["https"]), "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
		if !strings.Contains(out, "alert protocol version") {
			t.Errorf("TLS 1.1 was not refused with a protocol_version alert:\n%s", out)
		}
		if !strings.Contains(out, "Cipher is (NONE)") {
			t.Errorf("TLS 1.1 handshake completed:\n%s", out)
		}
	})

	t.Run("healthz and metrics", func(t *testing.T) {
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the dev certificate is self-signed
		}}
		body := get(t, client, "https://"+d.addr(d.config.Ports["https"])+"/healthz", 200)
		if !strings.Contains(body, `"ok"`) {
			t.Errorf("healthz: %s", body)
		}
		body = get(t, client, fmt.Sprintf("http://127.0.0.1:%d/metrics", d.config.Admin), 200)
		for _, want := range []string{"sealpost_build_info", "sealpost_connections_total", "go_goroutines"} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})

	firstCert := certFingerprint(t, d.addr(d.config.Ports["https"]))
	password := d.config.Password
	d.stop(t, 10*time.Second)

	t.Run("restart keeps password and certificate", func(t *testing.T) {
		d2 := startDev(t, dir, base, 10*time.Second)
		if d2.config.Password != password {
			t.Errorf("password changed across restart")
		}
		if got := certFingerprint(t, d2.addr(d2.config.Ports["https"])); got != firstCert {
			t.Errorf("certificate changed across restart")
		}
		d2.stop(t, 10*time.Second)
	})
}

func openssl(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", args...)
	cmd.Stdin = strings.NewReader("Q\n")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("openssl %v timed out", args)
	}
	_ = err // a refused handshake exits non-zero; callers judge the output
	return string(out)
}

func get(t *testing.T, c *http.Client, url string, code int) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != code {
		t.Fatalf("GET %s: %d, want %d: %s", url, resp.StatusCode, code, body)
	}
	return string(body)
}

func certFingerprint(t *testing.T, addr string) [32]byte {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
}
