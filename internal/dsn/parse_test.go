package dsn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestParseSamples parses every testdata/parse/*.eml and compares the
// Report, as JSON, with the .json beside it, or the error with the .error
// beside it. Each case's .readme says what it is about.
func TestParseSamples(t *testing.T) {
	files, err := filepath.Glob("testdata/parse/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, f := range files {
		base := strings.TrimSuffix(f, ".eml")
		t.Run(filepath.Base(base), func(t *testing.T) {
			if _, err := os.Stat(base + ".readme"); err != nil {
				t.Errorf("case has no .readme: %v", err)
			}
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Parse(bytes.NewReader(in))
			if _, statErr := os.Stat(base + ".error"); statErr == nil || (err != nil && *update) {
				if err == nil {
					t.Fatalf("parsed, want an error")
				}
				golden(t, base+".error", []byte(err.Error()+"\n"))
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(rep, "", "\t")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, base+".json", append(got, '\n'))
		})
	}
}

// TestParseErrorKinds checks the sentinel each refused sample gives.
func TestParseErrorKinds(t *testing.T) {
	for name, want := range map[string]error{"mdn": ErrNotDSN, "plain-text": ErrNotDSN, "no-status": ErrNotDSN} {
		in, err := os.ReadFile(filepath.Join("testdata/parse", name+".eml"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(bytes.NewReader(in)); !errors.Is(err, want) {
			t.Errorf("%s: error %v, want %v", name, err, want)
		}
	}
}

// TestRoundTrip parses every built report and checks that the fields
// come back as given.
func TestRoundTrip(t *testing.T) {
	for _, tc := range buildCases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Build(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Parse(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			m := tc.msg
			if rep.Global != m.UTF8() {
				t.Errorf("Global = %v, want %v", rep.Global, m.UTF8())
			}
			if rep.ReportingMTA != (TypedValue{"dns", m.Hostname}) || rep.EnvelopeID != m.EnvelopeID {
				t.Errorf("per-message fields: %+v %q", rep.ReportingMTA, rep.EnvelopeID)
			}
			if !rep.ArrivalDate.Equal(m.ArrivalDate) {
				t.Errorf("Arrival-Date %v, want %v", rep.ArrivalDate, m.ArrivalDate)
			}
			if rep.Header.Get("Auto-Submitted") != "auto-replied" || !strings.Contains(rep.Text, m.Hostname) {
				t.Errorf("header or text missing: %q / %q", rep.Header.Get("Auto-Submitted"), rep.Text)
			}
			if len(rep.Recipients) != len(m.Recipients) {
				t.Fatalf("%d recipients, want %d", len(rep.Recipients), len(m.Recipients))
			}
			for i, want := range m.Recipients {
				checkRecipient(t, rep.Recipients[i], want)
			}
			if m.Original != nil && rep.ReturnedHeader.Get("Subject") == "" {
				t.Errorf("returned header lost: %v", rep.ReturnedHeader)
			}
		})
	}
}

func checkRecipient(t *testing.T, got RecipientStatus, want Recipient) {
	t.Helper()
	if got.FinalRecipient.Value != want.FinalRecipient || got.Action != want.Action || got.Status != want.Status {
		t.Errorf("recipient %+v, want %+v", got, want)
	}
	if orcpt := got.OriginalRecipient; want.OriginalRecipient != "" &&
		orcpt.Type+";"+orcpt.Value != want.OriginalRecipient {
		t.Errorf("Original-Recipient %+v, want %q", orcpt, want.OriginalRecipient)
	}
	if want.RemoteMTA != "" && got.RemoteMTA.Value != want.RemoteMTA {
		t.Errorf("Remote-MTA %+v, want %q", got.RemoteMTA, want.RemoteMTA)
	}
	if want.DiagnosticCode != "" && (got.DiagnosticCode.Type != "smtp" || !strings.HasPrefix(got.DiagnosticCode.Value, want.DiagnosticCode[:3])) {
		t.Errorf("Diagnostic-Code %+v, want %q", got.DiagnosticCode, want.DiagnosticCode)
	}
	if !got.LastAttemptDate.Equal(want.LastAttemptDate) {
		t.Errorf("Last-Attempt-Date %v, want %v", got.LastAttemptDate, want.LastAttemptDate)
	}
	if want.Action == ActionDelayed && !got.WillRetryUntil.Equal(want.WillRetryUntil) {
		t.Errorf("Will-Retry-Until %v, want %v", got.WillRetryUntil, want.WillRetryUntil)
	}
}

// report builds a minimal report text with n recipient groups and pad
// octets of filler in the human-readable part.
func report(n, pad int) string {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n")
	b.WriteString("--b\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("x", pad) + "\r\n")
	b.WriteString("--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; a.example\r\n")
	for i := range n {
		fmt.Fprintf(&b, "\r\nFinal-Recipient: rfc822; u%d@example.com\r\nAction: failed\r\nStatus: 5.0.0\r\n", i)
	}
	b.WriteString("--b--\r\n")
	return b.String()
}

func TestParseLimits(t *testing.T) {
	tests := []struct {
		name   string
		p      Parser
		in     string
		want   error
		nRcpts int
	}{
		{"at recipient limit", Parser{MaxRecipients: 3}, report(3, 0), nil, 3},
		{"over recipient limit", Parser{MaxRecipients: 3}, report(4, 0), ErrTooManyRecipients, 0},
		{"default recipient limit", Parser{}, report(DefaultMaxRecipients+1, 0), ErrTooManyRecipients, 0},
		{"within bytes", Parser{MaxBytes: 4096}, report(1, 1000), nil, 1},
		{"over bytes", Parser{MaxBytes: 4096}, report(1, 5000), ErrTooLarge, 0},
		{"status part too large", Parser{MaxBytes: 8 << 20}, report(1, 0)[:200] + strings.Repeat("X-Filler: y\r\n", maxStatusBytes/12), ErrTooLarge, 0},
		{"long folded field", Parser{}, report(0, 0)[:190] + "X-Long: a\r\n" + strings.Repeat(" b\r\n", 200000) + "\r\n--b--\r\n", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			rep, err := tt.p.Parse(strings.NewReader(tt.in))
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("error %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Recipients) != tt.nRcpts {
				t.Errorf("%d recipients, want %d", len(rep.Recipients), tt.nRcpts)
			}
		})
	}
}

func TestDecodeEmbedded(t *testing.T) {
	for in, want := range map[string]string{
		`jos\x{E9}@ex\x{e4}mple.com`: "josé@exämple.com",
		`\x{1F600}`:                  "\U0001F600",
		`a\x{}b`:                     `a\x{}b`,
		`a\x{110000}b`:               `a\x{110000}b`,
		`a\x{1}b`:                    `a\x{1}b`,
		`a\x{E9`:                     `a\x{E9`,
		`\x{zz}\x{41}`:               `\x{zz}A`,
	} {
		if got := decodeEmbedded(in); got != want {
			t.Errorf("decodeEmbedded(%q) = %q, want %q", in, got, want)
		}
	}
}
