package dkim

import (
	"bufio"
	"bytes"
	"crypto"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/dnsx/dnsfake"
)

// conformanceDir holds the shared DKIM vectors; see its SOURCE.txt.
const conformanceDir = "../../../shared/conformance/dkim"

func conformancePath(t *testing.T, name string) string {
	t.Helper()
	if _, err := os.Stat(conformanceDir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("conformance data missing: %v", err)
		}
		t.Skipf("conformance data missing: %v", err)
	}
	return filepath.Join(conformanceDir, name)
}

func readConformance(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(conformancePath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// conformanceDNS loads dns-zone.txt: "name TXT-value" per line.
func conformanceDNS(t *testing.T) *dnsfake.TXT {
	dns := dnsfake.NewTXT()
	sc := bufio.NewScanner(bytes.NewReader(readConformance(t, "dns-zone.txt")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, _ := strings.Cut(line, " ")
		dns.Add(name, value)
	}
	return dns
}

type vector struct {
	file   string
	expect []Status
}

// readVectors reads the two keys the test needs from vectors.yaml. The file
// is a plain YAML list ("- file: X", then "  expect:" and its "  - verdict"
// items); a small reader spares the module a YAML dependency, and the count
// check below catches a format it does not understand.
func readVectors(t *testing.T) []vector {
	var vs []vector
	inExpect := false
	sc := bufio.NewScanner(bytes.NewReader(readConformance(t, "vectors.yaml")))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "- file: "):
			vs = append(vs, vector{file: strings.TrimPrefix(line, "- file: ")})
			inExpect = false
		case line == "  expect:":
			inExpect = true
		case inExpect && strings.HasPrefix(line, "  - "):
			vs[len(vs)-1].expect = append(vs[len(vs)-1].expect, Status(strings.TrimPrefix(line, "  - ")))
		default:
			inExpect = false
		}
	}
	return vs
}

// TestConformanceVectors runs every vector of vectors.yaml. One needs a
// remark: oracle-vectors/rsa-simple-simple-wsp-change.eml expects fail,
// which dkimpy gives and OpenDKIM does not (its test mode re-joins header
// names and values, so it cannot see whitespace after the colon); dkimpy is
// right by RFC 6376 section 3.4.1.
func TestConformanceVectors(t *testing.T) {
	dns := conformanceDNS(t)
	vs := readVectors(t)
	if len(vs) != 33 {
		t.Fatalf("read %d vectors from vectors.yaml, want 33", len(vs))
	}
	for _, v := range vs {
		t.Run(v.file, func(t *testing.T) {
			if len(v.expect) == 0 {
				t.Fatal("vector without expect")
			}
			res := verifyBytes(t, dns, string(readConformance(t, v.file)))
			if got := statuses(res); !slices.Equal(got, v.expect) {
				t.Errorf("got %v, want %v", res, v.expect)
			}
			for _, r := range res {
				if r.BodyLength >= 0 && r.Status == StatusPass && !strings.Contains(r.Reason, "l=") {
					t.Errorf("pass with l= does not say so: %v", r)
				}
			}
		})
	}
}

// TestConformanceLengthTag checks what the l= vector reports: the bytes
// appended after signing are counted as unsigned.
func TestConformanceLengthTag(t *testing.T) {
	res := verifyBytes(t, conformanceDNS(t), string(readConformance(t, "oracle-vectors/rsa-ltag-appended.eml")))
	if len(res) != 1 || res[0].Status != StatusPass || res[0].BodyLength != 25 || res[0].UnsignedBodyBytes == 0 {
		t.Fatalf("got %+v", res)
	}
}

// TestConformanceRFC8463Signatures recomputes both signatures of the RFC
// 8463 Appendix A example with their private keys. PKCS #1 v1.5 and Ed25519
// are deterministic, so the b= values must come out byte for byte.
func TestConformanceRFC8463Signatures(t *testing.T) {
	msg := readConformance(t, "dkimpy-data/rfc6376.signed.msg")
	h, err := ReadHeader(bufio.NewReader(bytes.NewReader(msg)), 0)
	if err != nil {
		t.Fatal(err)
	}
	keys := []crypto.Signer{
		readEd25519Seed(t, conformancePath(t, "dkimpy-data/rfc8032_7_1.key")),
		readPEMKey(t, conformancePath(t, "dkimpy-data/test.private")),
	}
	for i, f := range h[:2] {
		sig, err := ParseSignature(f.Value())
		if err != nil {
			t.Fatal(err)
		}
		stripped, err := StripSignatureValue(f.Raw)
		if err != nil {
			t.Fatal(err)
		}
		digest := HeaderHash(crypto.SHA256.New(), sig.HeaderCanon, h.SelectFields(sig.Headers), stripped)
		got, err := SignHash(keys[i], sig.Algorithm, digest)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, sig.Sig) {
			t.Errorf("signature %d (%s): got b=%s", i, sig.Algorithm, base64.StdEncoding.EncodeToString(got))
		}
	}
}

// TestConformanceSigningInputs signs the unsigned messages of vectors.yaml's
// signing_inputs, and the other dkimpy messages, with the dkimpy test keys
// published in dns-zone.txt, in all four canonicalizations, and verifies
// the result. test_nofrom.message must be refused (no From).
func TestConformanceSigningInputs(t *testing.T) {
	dns := conformanceDNS(t)
	rsaKey := readPEMKey(t, conformancePath(t, "dkimpy-data/test.private"))
	edKey := readEd25519Seed(t, conformancePath(t, "dkimpy-data/ed25519test.key"))
	rfcKey := readEd25519Seed(t, conformancePath(t, "dkimpy-data/rfc8032_7_1.key"))
	cases := []struct {
		file     string
		signer   Signer
		selector string
	}{
		{"dkimpy-data/test.message", Signer{Domain: "example.com", Selector: "test", Key: rsaKey}, ""},
		{"dkimpy-data/ed25519test.msg", Signer{Domain: "example.net", Selector: "test", Key: edKey}, ""},
		{"dkimpy-data/rfc6376.msg", Signer{Domain: "football.example.com", Selector: "brisbane", Key: rfcKey}, ""},
		{"dkimpy-data/rfc6376.w1258.msg", Signer{Domain: "football.example.com", Selector: "brisbane", Key: rfcKey}, ""},
		{"dkimpy-data/test_extra.message", Signer{Domain: "example.com", Selector: "test", Key: rsaKey}, ""},
		{"dkimpy-data/message.mbox", Signer{Domain: "example.com", Selector: "test", Key: rsaKey}, ""},
	}
	for _, tc := range cases {
		msg := readConformance(t, tc.file)
		for _, c := range [][2]Canon{{Simple, Simple}, {Simple, Relaxed}, {Relaxed, Simple}, {Relaxed, Relaxed}} {
			s := tc.signer
			s.HeaderCanon, s.BodyCanon = c[0], c[1]
			field, err := s.Sign(bytes.NewReader(msg))
			if err != nil {
				t.Fatalf("%s: %v", tc.file, err)
			}
			res := verifyBytes(t, dns, field+string(msg))
			if res[0].Status != StatusPass {
				t.Errorf("%s %s/%s: got %v", tc.file, c[0], c[1], res[0])
			}
		}
	}
	// message.mbox carries a kitterman.com signature whose key is not in
	// the zone: our new signature passes, the old one has no key.
	res := verifyBytes(t, dns, string(readConformance(t, "dkimpy-data/message.mbox")))
	if !slices.Equal(statuses(res), []Status{StatusPermError}) || !strings.Contains(res[0].Reason, "no key") {
		t.Errorf("message.mbox: got %v", res)
	}
	s := Signer{Domain: "example.com", Selector: "test", Key: rsaKey}
	if _, err := s.Sign(bytes.NewReader(readConformance(t, "dkimpy-data/test_nofrom.message"))); err == nil {
		t.Error("test_nofrom.message was signed")
	}
}

// TestConformanceKeyRecords parses every key record file of dkimpy-data.
func TestConformanceKeyRecords(t *testing.T) {
	for file, want := range map[string]error{
		"test.txt":                            nil,
		"test2.txt":                           nil,       // no k=: rsa by default
		"test_bad.txt":                        ErrSyntax, // last base64 group altered: not DER
		"ed25519test.dns":                     nil,
		"eximtest.dns":                        nil,
		"1024_testkey_wo_markers.pub.txt":     nil,
		"2048_testkey_wo_markers.pub.txt":     nil,
		"2048_testkey_wo_markers.pub.rsa.txt": nil, // bare RSAPublicKey
		"2048_testkey_PKCS8.key.pub.txt":      nil,
		"1024_testkey_wo_markers.pub.rsa.txt": nil,
		"badk.txt":                            ErrSyntax, // k=ed25519-sha256
		"badversion.txt":                      ErrSyntax, // "v=DKIM1:"
		"test_tlsrpt.txt":                     ErrSyntax, // s=tlsrpt, not email
	} {
		txt := strings.TrimSpace(string(readConformance(t, "dkimpy-data/"+file)))
		k, err := ParseKeyRecord(txt)
		switch {
		case want == nil && err != nil:
			t.Errorf("%s: %v", file, err)
		case want != nil && !errors.Is(err, want):
			t.Errorf("%s: got %v, %v; want %v", file, k, err, want)
		}
	}
}

// TestConformancePrivateKeys signs with each private key file of dkimpy-data
// and verifies against the matching public key record file.
func TestConformancePrivateKeys(t *testing.T) {
	msg := readConformance(t, "dkimpy-data/test.message")
	for priv, pub := range map[string]string{
		"1024_testkey.key":       "1024_testkey_wo_markers.pub.txt",
		"2048_testkey.key":       "2048_testkey_wo_markers.pub.rsa.txt",
		"2048_testkey_PKCS8.key": "2048_testkey_PKCS8.key.pub.txt",
	} {
		dns := dnsfake.NewTXT()
		dns.Add("k._domainkey.example.com", strings.TrimSpace(string(readConformance(t, "dkimpy-data/"+pub))))
		s := Signer{Domain: "example.com", Selector: "k", Key: readPEMKey(t, conformancePath(t, "dkimpy-data/"+priv))}
		field, err := s.Sign(bytes.NewReader(msg))
		if err != nil {
			t.Fatalf("%s: %v", priv, err)
		}
		if res := verifyBytes(t, dns, field+string(msg)); res[0].Status != StatusPass {
			t.Errorf("%s with %s: %v", priv, pub, res[0])
		}
	}
}
