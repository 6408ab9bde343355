package dkim

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/dnsx/dnsfake"
)

// The differential tests check Sealpost's signatures with two independent
// implementations, dkimpy and OpenDKIM, and dkimpy's signatures with
// Sealpost. Both are installed by scripts/install-test-deps.sh.

const python = "/usr/bin/python3"

func needTool(t *testing.T, name string, check ...string) {
	t.Helper()
	if err := exec.Command(name, check...).Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not usable: %v", name, err)
		}
		t.Skipf("%s not usable (run scripts/install-test-deps.sh): %v", name, err)
	}
}

// differentialMessages are the messages signed in both directions: the
// usual, and the shapes canonicalization gets wrong.
var differentialMessages = map[string]string{
	"plain": testMessage,
	"long-lines": "From: a@example.org\r\nTo: b@example.net\r\nSubject: " + strings.Repeat("long subject ", 20) +
		"\r\n\tcontinued\r\n\r\n" + strings.Repeat("x", 2000) + "\r\n" + strings.Repeat("word ", 400) + "\r\n",
	"no-final-crlf": "From: a@example.org\r\nSubject: no end\r\n\r\nline one\r\nlast line without end",
	"empty-body":    "From: a@example.org\r\nSubject: empty\r\n\r\n",
	"odd-whitespace": "From:a@example.org\r\nsUbJeCt:   lots   of   space \t\r\nTo:\r\n  one@example.net,\r\n\ttwo@example.net\r\n" +
		"Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n\r\n \t leading\r\ntrailing \t \r\n\r\n  \r\nmid  \t dle\r\n\r\n\r\n",
}

var differentialCanons = [][2]Canon{{Relaxed, Relaxed}, {Simple, Simple}, {Relaxed, Simple}, {Simple, Relaxed}}

// writeKeys writes the TXT records in OpenDKIM's TestPublicKeys format,
// which the dkimpy helper reads too.
func writeKeys(t *testing.T, dir string, signers ...*Signer) string {
	t.Helper()
	var b strings.Builder
	for _, s := range signers {
		txt, err := KeyRecordText(s.Key.Public())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s\n", KeyName(s.Selector, s.Domain), txt)
	}
	path := filepath.Join(dir, "keys.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func dkimpyVerify(t *testing.T, msgPath, keysPath string, count int) []string {
	t.Helper()
	out, err := exec.Command(python, "testdata/dkimpy_helper.py", "verify", msgPath, keysPath, fmt.Sprint(count)).CombinedOutput()
	if err != nil {
		t.Fatalf("dkimpy: %v\n%s", err, out)
	}
	var verdicts []string
	for line := range strings.Lines(string(out)) {
		verdicts = append(verdicts, strings.Fields(line)[0])
	}
	return verdicts
}

// opendkimVerify runs "opendkim -t" in dir with a config naming the keys,
// and returns "pass" or "fail" for the message's signature.
func opendkimVerify(t *testing.T, dir, msgPath, keysPath string) string {
	t.Helper()
	conf := filepath.Join(dir, "opendkim.conf")
	text := "Mode v\nSyslog no\nTestPublicKeys " + keysPath + "\n"
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("opendkim", "-x", conf, "-t", msgPath)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("opendkim: %v\n%s", err, out)
	}
	switch {
	case strings.Contains(string(out), "succeeded"):
		return "pass"
	case strings.Contains(string(out), "failed"):
		return "fail"
	case strings.Contains(string(out), "message not signed"):
		return "none"
	}
	t.Fatalf("opendkim said: %s", out)
	return ""
}

// opendkimArtefacts are the cases where "opendkim -t" is wrong whatever
// signed the message: it gives the same verdict for dkimpy's signature of
// the same message, which dkimpy verifies. Its test mode re-joins header
// names and values with one space (so simple header canonicalization of
// "From:a@..." fails, as in the shared vector rsa-simple-simple-wsp-change),
// and it sees no signature at all in a message whose body lacks a final
// CRLF when the body canonicalization is relaxed. dkimpy is the authority
// there, and still has to pass.
func opendkimArtefact(msgName string, header, body Canon) string {
	switch {
	case msgName == "odd-whitespace" && header == Simple:
		return "fail"
	case msgName == "no-final-crlf" && body == Relaxed:
		return "none"
	}
	return ""
}

// TestDifferentialSealpostSigns: what Sealpost signs, dkimpy and OpenDKIM
// verify; after tampering with the body, both refuse it.
func TestDifferentialSealpostSigns(t *testing.T) {
	needTool(t, python, "-c", "import dkim, nacl")
	needTool(t, "opendkim", "-V")
	edKey, rsaKey := testKeys(t)
	dir := t.TempDir()
	signers := map[string]*Signer{
		"ed25519": {Domain: "example.org", Selector: "ed", Key: edKey},
		"rsa":     {Domain: "example.org", Selector: "rsa", Key: rsaKey},
	}
	keys := writeKeys(t, dir, signers["ed25519"], signers["rsa"])
	for msgName, msg := range differentialMessages {
		for keyName, base := range signers {
			for _, c := range differentialCanons {
				name := fmt.Sprintf("%s-%s-%s-%s", msgName, keyName, c[0], c[1])
				t.Run(name, func(t *testing.T) {
					s := *base
					s.HeaderCanon, s.BodyCanon = c[0], c[1]
					field, err := s.Sign(strings.NewReader(msg))
					if err != nil {
						t.Fatal(err)
					}
					path := filepath.Join(dir, name+".eml")
					os.WriteFile(path, []byte(field+msg), 0o644)
					if got := dkimpyVerify(t, path, keys, 1); !slices.Equal(got, []string{"pass"}) {
						t.Errorf("dkimpy: %v\n%s", got, field)
					}
					want := "pass"
					if a := opendkimArtefact(msgName, c[0], c[1]); a != "" {
						want = a
					}
					if got := opendkimVerify(t, dir, path, keys); got != want {
						t.Errorf("opendkim: %s, want %s\n%s", got, want, field)
					}
					tampered := filepath.Join(dir, name+"-tampered.eml")
					os.WriteFile(tampered, []byte(field+msg+"\r\nadded\r\n"), 0o644)
					if got := dkimpyVerify(t, tampered, keys, 1); !slices.Equal(got, []string{"fail"}) {
						t.Errorf("dkimpy on tampered: %v", got)
					}
					if got := opendkimVerify(t, dir, tampered, keys); got != "fail" && opendkimArtefact(msgName, c[0], c[1]) == "" {
						t.Errorf("opendkim on tampered: %s", got)
					}
				})
			}
		}
	}
}

// TestDifferentialSignAll: both signatures of SignAll verify with dkimpy.
func TestDifferentialSignAll(t *testing.T) {
	needTool(t, python, "-c", "import dkim, nacl")
	edKey, rsaKey := testKeys(t)
	dir := t.TempDir()
	signers := []*Signer{{Domain: "example.org", Selector: "ed", Key: edKey}, {Domain: "example.org", Selector: "rsa", Key: rsaKey}}
	keys := writeKeys(t, dir, signers...)
	fields, err := SignAll(strings.NewReader(testMessage), signers)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "both.eml")
	os.WriteFile(path, []byte(fields[0]+fields[1]+testMessage), 0o644)
	if got := dkimpyVerify(t, path, keys, 2); !slices.Equal(got, []string{"pass", "pass"}) {
		t.Errorf("dkimpy: %v", got)
	}
}

// TestDifferentialDkimpySigns: what dkimpy signs (RSA and Ed25519, four
// canonicalizations, with and without l=), Sealpost verifies; with l= and
// text appended, Sealpost passes and counts the unsigned bytes.
func TestDifferentialDkimpySigns(t *testing.T) {
	needTool(t, python, "-c", "import dkim, nacl")
	edKey, rsaKey := testKeys(t)
	dir := t.TempDir()
	rsaPath := filepath.Join(dir, "rsa.pem")
	os.WriteFile(rsaPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), 0o600)
	edPath := filepath.Join(dir, "ed.key")
	os.WriteFile(edPath, []byte(base64.StdEncoding.EncodeToString(edKey.Seed())), 0o600)
	dns := dnsfake.NewTXT()
	for sel, key := range map[string]crypto.Signer{"ed": edKey, "rsa": rsaKey} {
		publish(t, dns, &Signer{Domain: "example.org", Selector: sel, Key: key})
	}
	algs := map[string][2]string{"ed": {"ed25519-sha256", edPath}, "rsa": {"rsa-sha256", rsaPath}}
	for msgName, msg := range differentialMessages {
		msgPath := filepath.Join(dir, msgName+".eml")
		os.WriteFile(msgPath, []byte(msg), 0o644)
		for sel, alg := range algs {
			for _, c := range differentialCanons {
				for _, length := range []string{"no", "yes"} {
					name := fmt.Sprintf("%s-%s-%s-%s-l=%s", msgName, sel, c[0], c[1], length)
					t.Run(name, func(t *testing.T) {
						out, err := exec.Command(python, "testdata/dkimpy_helper.py", "sign", msgPath, alg[1], sel,
							"example.org", alg[0], string(c[0]), string(c[1]), length).CombinedOutput()
						if err != nil {
							t.Fatalf("dkimpy sign: %v\n%s", err, out)
						}
						signed := string(out) + msg
						res := verifyBytes(t, dns, signed)
						if len(res) != 1 || res[0].Status != StatusPass {
							t.Fatalf("got %v\n%s", res, out)
						}
						if length == "yes" {
							res = verifyBytes(t, dns, signed+"\r\nappended\r\n")
							if res[0].Status != StatusPass || res[0].UnsignedBodyBytes == 0 {
								t.Errorf("appended after l=: %+v", res[0])
							}
						} else {
							res = verifyBytes(t, dns, signed+"\r\nappended\r\n")
							if res[0].Status != StatusFail {
								t.Errorf("appended: %v", res[0])
							}
						}
					})
				}
			}
		}
	}
}
