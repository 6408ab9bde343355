package interop

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestServeReloadsCertificatesOnSIGHUP runs `sealpost serve` with
// certificate files, replaces them, sends SIGHUP, and checks that a new
// connection gets the new certificate while a connection opened before the
// reload keeps working.
func TestServeReloadsCertificatesOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, "first")
	port := freePort(t)
	cfg := fmt.Sprintf(`hostname = "mail.example.org"
data_dir = %q

[tls]
mode = "files"
cert_file = %q
key_file = %q

[listeners]
smtp = ""
submission = ""
submissions = ""
imap = ""
imaps = ""
pop3 = ""
pop3s = ""
https = "127.0.0.1:%d"
admin = ""
`, filepath.Join(dir, "data"), certFile, keyFile, port)
	cfgPath := filepath.Join(dir, "sealpost.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := sealpost(t, "", "config", "check", cfgPath); r.code != 0 {
		t.Fatalf("config check: %s", r.stderr)
	}
	var out syncBuffer
	cmd := exec.Command(binary, "serve", "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
		}
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitListening(t, addr, done, &out)

	// A client whose connection stays open across the reload.
	old := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, MaxConnsPerHost: 1,
	}}
	var firstConn string
	trace := func(r *http.Response) string {
		return r.TLS.PeerCertificates[0].Subject.CommonName
	}
	resp, err := old.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	// Read to the end so the connection goes back to the pool for reuse.
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	firstConn = trace(resp)
	if firstConn != "first" {
		t.Fatalf("served certificate %q, want first", firstConn)
	}

	writeCert(t, certFile, keyFile, "second")
	cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for peerCN(t, addr) != "second" {
		if time.Now().After(deadline) {
			t.Fatalf("new connections still get the old certificate after SIGHUP\n%s", &out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err = old.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("the connection opened before the reload broke: %v", err)
	}
	resp.Body.Close()
	if got := trace(resp); got != "first" {
		t.Errorf("the old connection was replaced (certificate %q): connections were dropped", got)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve exited with %v\n%s", err, &out)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("serve still running 10s after SIGTERM\n%s", &out)
	}
}

func peerCN(t *testing.T, addr string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

func waitListening(t *testing.T, addr string, done chan error, out *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		select {
		case err := <-done:
			t.Fatalf("sealpost exited early: %v\n%s", err, out)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("nothing listening on %s\n%s", addr, out)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// writeCert writes a self-signed certificate with the given common name,
// replacing the files atomically as a certificate tool would.
func writeCert(t *testing.T, certFile, keyFile, cn string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     []string{"mail.example.org"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(path, typ string, der []byte) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(keyFile, "PRIVATE KEY", keyDER)
	write(certFile, "CERTIFICATE", der)
}
