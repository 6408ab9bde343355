package arc

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/dnsx/dnsfake"
)

// The differential tests pass ARC chains between Sealpost and dkimpy
// (python3-dkim, installed by scripts/install-test-deps.sh): sets dkimpy
// makes validate with Sealpost, sets Sealpost makes validate with dkimpy's
// arc_verify, and chains of two and three hops mix both.

const python = "/usr/bin/python3"

func needDkimpy(t *testing.T) {
	t.Helper()
	if err := exec.Command(python, "-c", "import dkim").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dkimpy not usable: %v", err)
		}
		t.Skipf("dkimpy not usable (run scripts/install-test-deps.sh): %v", err)
	}
}

// world is the DNS of a differential test, shared by both implementations.
type world struct {
	t    *testing.T
	dir  string
	dns  *dnsfake.TXT
	keys strings.Builder
}

func newWorld(t *testing.T) *world {
	return &world{t: t, dir: t.TempDir(), dns: dnsfake.NewTXT()}
}

func (w *world) publish(selector, domain string, pub crypto.PublicKey) {
	txt, err := dkim.KeyRecordText(pub)
	if err != nil {
		w.t.Fatal(err)
	}
	w.dns.Add(dkim.KeyName(selector, domain), txt)
	fmt.Fprintf(&w.keys, "%s %s\n", dkim.KeyName(selector, domain), txt)
	if err := os.WriteFile(filepath.Join(w.dir, "keys.txt"), []byte(w.keys.String()), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) write(name, content string) string {
	path := filepath.Join(w.dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return path
}

// dkimpyVerify returns dkimpy's chain validation status for msg.
func (w *world) dkimpyVerify(msg string) (Status, string) {
	w.t.Helper()
	out, err := exec.Command(python, "testdata/dkimpy_arc.py", "verify", w.write("verify.eml", msg), filepath.Join(w.dir, "keys.txt")).CombinedOutput()
	if err != nil {
		w.t.Fatalf("dkimpy verify: %v\n%s", err, out)
	}
	status, reason, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	return Status(status), reason
}

// sealpostVerify returns Sealpost's chain validation status for msg.
func (w *world) sealpostVerify(msg string) *Result {
	w.t.Helper()
	return validate(w.t, w.dns, msg)
}

// forwarder is one hop, sealing with dkimpy or with Sealpost, validating
// what it receives with the same implementation.
type forwarder struct {
	domain string
	dkimpy bool
	key    crypto.Signer
}

func (f forwarder) String() string {
	if f.dkimpy {
		return "dkimpy@" + f.domain
	}
	return "sealpost@" + f.domain
}

// forward validates msg, stamps an Authentication-Results field with the
// arc result (dkimpy takes cv= from there), and seals.
func (w *world) forward(f forwarder, msg string) string {
	w.t.Helper()
	authID := "mx." + f.domain
	var status Status
	var chain *Result
	if f.dkimpy {
		status, _ = w.dkimpyVerify(msg)
	} else {
		chain = w.sealpostVerify(msg)
		status = chain.Status
	}
	results := fmt.Sprintf("arc=%s; spf=pass smtp.mailfrom=example.org; dmarc=pass header.from=example.org", status)
	msg = fmt.Sprintf("Authentication-Results: %s; %s\r\n", authID, results) + msg
	if !f.dkimpy {
		set, err := (&Sealer{Domain: f.domain, Selector: "arc", Key: f.key}).Seal(strings.NewReader(msg), authID, results, chain)
		if err != nil {
			w.t.Fatalf("%s: %v", f, err)
		}
		return set.String() + msg
	}
	der := x509.MarshalPKCS1PrivateKey(f.key.(*rsa.PrivateKey))
	keyPath := w.write("key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})))
	out, err := exec.Command(python, "testdata/dkimpy_arc.py", "sign", w.write("sign.eml", msg), keyPath,
		"arc", f.domain, authID, "1700000000").CombinedOutput()
	if err != nil || len(out) == 0 {
		w.t.Fatalf("%s: dkimpy arc_sign: %v\n%s", f, err, out)
	}
	return string(out) + msg
}

func TestDifferential(t *testing.T) {
	needDkimpy(t)
	rsaKey := testRSAKey(t)
	ed := testEd25519Key()
	for _, tc := range []struct {
		name string
		hops []forwarder
	}{
		{"dkimpy", []forwarder{{"a.example", true, rsaKey}}},
		{"sealpost rsa", []forwarder{{"a.example", false, rsaKey}}},
		{"sealpost ed25519", []forwarder{{"a.example", false, ed}}},
		{"dkimpy dkimpy", []forwarder{{"a.example", true, rsaKey}, {"b.example", true, rsaKey}}},
		{"dkimpy sealpost", []forwarder{{"a.example", true, rsaKey}, {"b.example", false, rsaKey}}},
		{"sealpost dkimpy", []forwarder{{"a.example", false, rsaKey}, {"b.example", true, rsaKey}}},
		{"sealpost sealpost sealpost", []forwarder{{"a.example", false, rsaKey}, {"b.example", false, rsaKey}, {"c.example", false, rsaKey}}},
		{"sealpost sealpost-ed25519 sealpost", []forwarder{{"a.example", false, rsaKey}, {"b.example", false, ed}, {"c.example", false, rsaKey}}},
		{"dkimpy sealpost dkimpy", []forwarder{{"a.example", true, rsaKey}, {"b.example", false, rsaKey}, {"c.example", true, rsaKey}}},
		{"sealpost dkimpy sealpost", []forwarder{{"a.example", false, rsaKey}, {"b.example", true, rsaKey}, {"c.example", false, ed}}},
		{"dkimpy dkimpy sealpost", []forwarder{{"a.example", true, rsaKey}, {"b.example", true, rsaKey}, {"c.example", false, rsaKey}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			for _, f := range tc.hops {
				w.publish("arc", f.domain, f.key.Public())
			}
			msg := testMessage
			ed25519Seen := false
			for i, f := range tc.hops {
				msg = w.forward(f, msg)
				res := w.sealpostVerify(msg)
				py, reason := w.dkimpyVerify(msg)
				_, isEd := f.key.(ed25519.PrivateKey)
				ed25519Seen = ed25519Seen || isEd
				if ed25519Seen {
					// dkimpy's ARC knows rsa-sha256 only: the reason
					// Sealpost seals with RSA.
					if res.Status != StatusPass || py != StatusFail || !strings.Contains(reason, "ed25519-sha256") {
						t.Fatalf("after hop %d (%s): sealpost %s (%s), dkimpy %s (%s); want pass, and fail for ed25519", i+1, f, res.Status, res.Reason, py, reason)
					}
					continue
				}
				if res.Status != StatusPass || py != StatusPass {
					t.Fatalf("after hop %d (%s): sealpost %s (%s), dkimpy %s (%s)", i+1, f, res.Status, res.Reason, py, reason)
				}
				if res.OldestPass != 0 {
					t.Errorf("after hop %d: oldest-pass %d, want 0", i+1, res.OldestPass)
				}
			}
			// The last forwarder's ARC-Authentication-Results, whoever
			// wrote it, carries its dmarc=pass.
			last := tc.hops[len(tc.hops)-1].domain
			if tr := w.sealpostVerify(msg).Trust([]string{last}); !tr.OverridesDMARC() || tr.AuthservID != "mx."+last {
				t.Errorf("trust in %s: %+v", last, tr)
			}
			// Both see a change after the last seal as a failure.
			broken := strings.Replace(msg, "this is the body", "this is another body", 1)
			res := w.sealpostVerify(broken)
			py, reason := w.dkimpyVerify(broken)
			if res.Status != StatusFail || py != StatusFail {
				t.Errorf("changed body: sealpost %s (%s), dkimpy %s (%s)", res.Status, res.Reason, py, reason)
			}
		})
	}
}

// TestDifferentialSuite validates every message of the ValiMail validation
// suite with dkimpy and with Sealpost: the two agree on all of them, except
// that dkimpy answers "ended" (no status) where a seal says cv=fail and
// Sealpost, following RFC 8617 section 5.2, answers fail.
func TestDifferentialSuite(t *testing.T) {
	needDkimpy(t)
	scenarios := readScenarios(t, "arc-draft-validation-tests.yml")
	compared := 0
	for si, s := range scenarios {
		w := newWorld(t)
		for name, txt := range s.TXTRecords {
			fmt.Fprintf(&w.keys, "%s %s\n", name, strings.Join(strings.Fields(txt), " "))
		}
		w.write("keys.txt", w.keys.String())
		cases := s.cases(t)
		msgs := make([]string, len(cases))
		for i, c := range cases {
			msgs[i] = crlf(c.Message)
		}
		list, err := json.Marshal(msgs)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(python, "testdata/dkimpy_arc.py", "verify-many", w.write("msgs.json", string(list)), filepath.Join(w.dir, "keys.txt")).CombinedOutput()
		if err != nil {
			t.Fatalf("scenario %d: dkimpy: %v\n%s", si, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != len(cases) {
			t.Fatalf("scenario %d: %d answers for %d messages:\n%s", si, len(lines), len(cases), out)
		}
		for i, c := range cases {
			py, reason, _ := strings.Cut(lines[i], " ")
			if py == "ended" {
				py = string(StatusFail)
			}
			res := validate(t, scenarioDNS(s), msgs[i])
			if Status(py) != res.Status {
				t.Errorf("%s: dkimpy %s (%s), sealpost %s (%s)", c.name, py, reason, res.Status, res.Reason)
			}
			compared++
		}
	}
	if compared != 175 {
		t.Errorf("compared %d messages, want 175", compared)
	}
}
