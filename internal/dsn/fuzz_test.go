package dsn

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary input to Parse: it must not panic, must keep
// to its limits, and must fail only with an error.
func FuzzParse(f *testing.F) {
	samples, _ := filepath.Glob("testdata/parse/*.eml")
	for _, s := range samples {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	p := Parser{MaxBytes: 64 << 10, MaxRecipients: 20}
	f.Fuzz(func(t *testing.T, in []byte) {
		rep, err := p.Parse(bytes.NewReader(in))
		if err != nil {
			if rep != nil {
				t.Fatal("report and error both returned")
			}
			return
		}
		if len(rep.Recipients) > p.MaxRecipients || rep.Fields == nil {
			t.Fatalf("%d recipients, fields %v", len(rep.Recipients), rep.Fields)
		}
		if len(rep.Text) > maxTextBytes {
			t.Fatalf("text of %d octets", len(rep.Text))
		}
	})
}

// FuzzBuild builds reports from arbitrary remote replies, addresses and
// original messages: Build must refuse them or produce a report that
// keeps its line rules and parses back.
func FuzzBuild(f *testing.F) {
	f.Add("550 5.1.1 <bob@example.com> unknown", "bob@example.com", "mx1.example.com", []byte(origMsg))
	f.Add("550-first\r\n550 second\x00\x1b", "josé@exämple.com", "", []byte("Subject: =?utf-8?q?caf=C3=A9?=\n\nbody\rmore\n"))
	f.Add(strings.Repeat("x", 2000), "rfc822;a@b", "a.example", []byte(strings.Repeat("y", 1200)+"\r\n\r\nz"))
	f.Fuzz(func(t *testing.T, diag, rcpt, remote string, orig []byte) {
		m := Message{
			Hostname: "mx.example.org", To: "alice@example.org", Date: time.Unix(0, 0).UTC(),
			MessageID: "fuzz@mx.example.org", Original: orig,
			Recipients: []Recipient{{FinalRecipient: rcpt, OriginalRecipient: rcpt, Action: ActionFailed,
				Status: "5.0.0", RemoteMTA: remote, DiagnosticCode: diag, Detail: diag}},
		}
		out, err := Build(m)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatal(err)
			}
			return
		}
		rep, err := Parse(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("built report does not parse: %v\n%s", err, out)
		}
		if len(rep.Recipients) != 1 || rep.Recipients[0].Status != "5.0.0" {
			t.Fatalf("recipients %+v", rep.Recipients)
		}
	})
}
