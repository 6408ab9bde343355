package clamd

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// daemon is a clamd of the test's own, with a signature database of one
// line, since the tests cannot download ClamAV's.
type daemon struct {
	unix, tcp string
	cmd       *exec.Cmd
}

func clamdPath(t testing.TB) string {
	for _, p := range []string{"clamd", "/usr/sbin/clamd"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("clamd is not installed (scripts/install-test-deps.sh installs clamav-daemon)")
	}
	t.Skip("clamd is not installed; scripts/install-test-deps.sh installs clamav-daemon")
	return ""
}

// startClamd runs clamd in the foreground on a unix socket and a TCP port
// of loopback, until the test ends.
func startClamd(t testing.TB) *daemon {
	t.Helper()
	bin := clamdPath(t)
	// A short path: a unix socket's name is limited to 108 bytes.
	dir, err := os.MkdirTemp("", "clamd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	eicar := readFile(t, "testdata/eicar.com")
	sig := fmt.Sprintf("%x:%d:Sealpost.Test.EICAR\n", md5sum(eicar), len(eicar))
	writeFile(t, filepath.Join(dir, "sealpost-test.hdb"), sig)
	port := freePort(t)
	d := &daemon{unix: filepath.Join(dir, "clamd.sock"), tcp: fmt.Sprintf("127.0.0.1:%d", port)}
	writeFile(t, filepath.Join(dir, "clamd.conf"), fmt.Sprintf(`Foreground yes
LocalSocket %s
TCPSocket %d
TCPAddr 127.0.0.1
DatabaseDirectory %s
LogFile %s
StreamMaxLength 1M
SelfCheck 0
`, d.unix, port, dir, filepath.Join(dir, "clamd.log")))
	d.cmd = exec.Command(bin, "-c", filepath.Join(dir, "clamd.conf"))
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.stop)
	c := &Client{Address: d.unix, Timeout: time.Second}
	for deadline := time.Now().Add(60 * time.Second); ; {
		if c.Ping(context.Background()) == nil {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "clamd.log"))
			t.Fatalf("clamd did not start:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return d
}

func (d *daemon) stop() {
	if d.cmd.Process != nil && d.cmd.ProcessState == nil {
		d.cmd.Process.Kill()
		d.cmd.Wait()
	}
}

func TestRealClamd(t *testing.T) {
	d := startClamd(t)
	ctx := context.Background()
	clients := map[string]*Client{
		"unix":            {Address: d.unix},
		"tcp":             {Network: "tcp", Address: d.tcp},
		"unix tiny chunk": {Address: d.unix, ChunkSize: 7}, // the signature spans chunks
	}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			if err := c.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			v, err := c.Version(ctx)
			if err != nil || !strings.HasPrefix(v, "ClamAV 1.") {
				t.Fatalf("Version: %q, %v", v, err)
			}
			for _, tc := range []struct {
				file     string
				infected bool
			}{
				{"testdata/eicar.com", true},
				{"testdata/eicar.eml", true}, // found inside the MIME attachment
				{"testdata/clean.eml", false},
			} {
				res, err := c.Scan(ctx, bytes.NewReader(readFile(t, tc.file)))
				if err != nil {
					t.Fatalf("%s: %v", tc.file, err)
				}
				if res.Infected != tc.infected || tc.infected != strings.HasPrefix(res.Signature, "Sealpost.Test.EICAR") {
					t.Errorf("%s: %+v, want infected %v", tc.file, res, tc.infected)
				}
			}
		})
	}
}

// TestRealClamdLimits: a stream beyond clamd's StreamMaxLength (1M here)
// and one beyond the client's MaxSize are both ErrTooLarge, not a verdict.
func TestRealClamdLimits(t *testing.T) {
	d := startClamd(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<17) // 2 MiB
	c := &Client{Address: d.unix, MaxSize: 4 << 20}
	if _, err := c.Scan(context.Background(), bytes.NewReader(big)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("beyond clamd's limit: %v", err)
	}
	c = &Client{Address: d.unix, MaxSize: 1000}
	if _, err := c.Scan(context.Background(), bytes.NewReader(big)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("beyond the client's limit: %v", err)
	}
	// And clamd still answers afterwards.
	if err := c.Ping(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestClamdDown: once clamd is gone every call says ErrUnavailable, at once.
func TestClamdDown(t *testing.T) {
	d := startClamd(t)
	d.stop()
	for name, c := range map[string]*Client{
		"unix": {Address: d.unix},
		"tcp":  {Network: "tcp", Address: d.tcp},
	} {
		start := time.Now()
		_, err := c.Scan(context.Background(), bytes.NewReader(readFile(t, "testdata/eicar.com")))
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: Scan: %v", name, err)
		}
		if err := c.Ping(context.Background()); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: Ping: %v", name, err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%s: took %v", name, took)
		}
	}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func md5sum(b []byte) []byte {
	s := md5.Sum(b)
	return s[:]
}
