package dsn

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

var (
	arrival = time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC)
	attempt = time.Date(2026, 3, 2, 13, 20, 5, 0, time.UTC)
	now     = time.Date(2026, 3, 2, 13, 20, 6, 0, time.UTC)
)

const origMsg = "Return-Path: <alice@example.org>\r\n" +
	"From: Alice <alice@example.org>\r\n" +
	"To: Bob <bob@example.com>\r\n" +
	"Subject: Lunch on Friday?\r\n" +
	"Date: Mon, 02 Mar 2026 09:14:58 +0000\r\n" +
	"Message-ID: <lunch-1@example.org>\r\n" +
	"\r\n" +
	"Shall we meet at noon?\r\n"

// buildCases are the reports kept as golden files in testdata/build-*.eml.
var buildCases = []struct {
	name string
	msg  Message
}{
	{"failed", Message{
		Hostname: "mx.example.org", To: "alice@example.org", Date: now, MessageID: "dsn-1@mx.example.org",
		EnvelopeID: "QQ314159", ArrivalDate: arrival, Original: []byte(origMsg),
		Recipients: []Recipient{{
			FinalRecipient: "bob@example.com", OriginalRecipient: "rfc822;Bob@Example.com",
			Action: ActionFailed, Status: "5.1.1", RemoteMTA: "mx1.example.com",
			DiagnosticCode:  "550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 Please check the address and try again.",
			LastAttemptDate: attempt,
		}},
	}},
	{"delayed", Message{
		Hostname: "mx.example.org", To: "alice@example.org", Date: now, MessageID: "dsn-2@mx.example.org",
		ArrivalDate: arrival, Original: []byte(origMsg), Return: ReturnHeaders,
		Recipients: []Recipient{{
			FinalRecipient: "bob@example.com", Action: ActionDelayed, Status: "4.4.1",
			Detail:          "Connection to mx1.example.com [192.0.2.25]:25 timed out.",
			LastAttemptDate: attempt, WillRetryUntil: arrival.Add(5 * 24 * time.Hour),
		}},
	}},
	{"multiple", Message{
		Hostname: "mx.example.org", From: "mailer-daemon@example.org", To: "alice@example.org", Date: now,
		MessageID: "dsn-3@mx.example.org", ReceivedFromMTA: "submit.example.org", ArrivalDate: arrival,
		Original: []byte(origMsg),
		Recipients: []Recipient{
			{FinalRecipient: "bob@example.com", Action: ActionFailed, Status: "5.2.2", RemoteMTA: "mx1.example.com",
				DiagnosticCode: "552 5.2.2 <bob@example.com>: mailbox full", LastAttemptDate: attempt},
			{FinalRecipient: "carol@nowhere.example", Action: ActionFailed, Status: "5.1.10",
				Detail: "The domain nowhere.example publishes a null MX record (RFC 7505)."},
			{FinalRecipient: "dave@example.net", Action: ActionDelayed, Status: "4.7.0", RemoteMTA: "mx.example.net",
				DiagnosticCode: "421 4.7.0 Try again later, closing connection.", LastAttemptDate: attempt,
				WillRetryUntil: arrival.Add(5 * 24 * time.Hour)},
			{FinalRecipient: "erin@example.net", Action: ActionDelivered, Status: "2.0.0", RemoteMTA: "mx.example.net",
				DiagnosticCode: "250 2.0.0 Ok: queued as 4XyZ", LastAttemptDate: attempt},
		},
	}},
	{"hdrs", Message{
		Hostname: "mx.example.org", To: "alice@example.org", Date: now, MessageID: "dsn-4@mx.example.org",
		EnvelopeID: "env+2B7", Original: []byte(origMsg), Return: ReturnHeaders,
		Recipients: []Recipient{{FinalRecipient: "bob@example.com", Action: ActionFailed, Status: "5.7.1",
			RemoteMTA: "mx1.example.com", DiagnosticCode: "554 5.7.1 Message rejected as spam"}},
	}},
	{"large", Message{
		Hostname: "mx.example.org", To: "alice@example.org", Date: now, MessageID: "dsn-5@mx.example.org",
		Original:    []byte(origMsg + strings.Repeat("More text that makes the message large.\n", 30)),
		MaxOriginal: 1000,
		Recipients: []Recipient{{FinalRecipient: "bob@example.com", Action: ActionFailed, Status: "5.3.4",
			RemoteMTA: "mx1.example.com", DiagnosticCode: "552 5.3.4 Message size exceeds fixed limit"}},
	}},
	{"utf8", Message{
		Hostname: "mx.example.org", To: "用户@例子.example", Date: now, MessageID: "dsn-6@mx.example.org",
		ArrivalDate: arrival,
		Original: []byte("From: 用户@例子.example\r\nTo: José <josé@exämple.com>\r\nSubject: Café à midi\r\n" +
			"Message-ID: <cafe@例子.example>\r\n\r\nÀ tout à l'heure.\r\n"),
		Recipients: []Recipient{{
			FinalRecipient: "josé@exämple.com", OriginalRecipient: "utf-8;josé@exämple.com",
			Action: ActionFailed, Status: "5.1.1", RemoteMTA: "mx.xn--exmple-cua.com",
			DiagnosticCode: "550 5.1.1 <josé@exämple.com> unknown user",
		}},
	}},
}

func TestBuildGolden(t *testing.T) {
	for _, tc := range buildCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Build(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "build-"+tc.name+".eml"), got)
		})
	}
}

// golden compares got with the file at path. On a difference it writes
// got beside it as path+".got" for review; with -update it rewrites path.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		if err := os.WriteFile(path+".got", got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s differs from the expectation; see %s.got", path, path)
		return
	}
	os.Remove(path + ".got")
}

func TestBuildRefuses(t *testing.T) {
	ok := Message{Hostname: "mx.example.org", To: "alice@example.org",
		Recipients: []Recipient{{FinalRecipient: "bob@example.com", Action: ActionFailed, Status: "5.1.1"}}}
	tests := []struct {
		name   string
		change func(m *Message)
		want   string
	}{
		{"null sender", func(m *Message) { m.To = "" }, "null reverse-path"},
		{"no hostname", func(m *Message) { m.Hostname = "" }, "host name"},
		{"hostname with space", func(m *Message) { m.Hostname = "mx example" }, "host name"},
		{"no recipients", func(m *Message) { m.Recipients = nil }, "no recipients"},
		{"CRLF in sender", func(m *Message) { m.To = "a@b\r\nBcc: x@y" }, "invalid address"},
		{"NUL in recipient", func(m *Message) { m.Recipients[0].FinalRecipient = "b\x00@c" }, "invalid address"},
		{"bad UTF-8", func(m *Message) { m.Recipients[0].OriginalRecipient = "\xff@c" }, "invalid address"},
		{"no final recipient", func(m *Message) { m.Recipients[0].FinalRecipient = "" }, "no final recipient"},
		{"unknown action", func(m *Message) { m.Recipients[0].Action = "bounced" }, "unknown action"},
		{"status class mismatch", func(m *Message) { m.Recipients[0].Status = "4.1.1" }, "does not go with"},
		{"malformed status", func(m *Message) { m.Recipients[0].Status = "5.1" }, "invalid status"},
		{"status class 3", func(m *Message) { m.Recipients[0].Status = "3.1.1" }, "invalid status"},
		{"status leading zero", func(m *Message) { m.Recipients[0].Status = "5.01.1" }, "invalid status"},
		{"remote MTA with CR", func(m *Message) { m.Recipients[0].RemoteMTA = "mx\r" }, "remote MTA"},
		{"message id with space", func(m *Message) { m.MessageID = "a b@c" }, "Message-ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok
			m.Recipients = append([]Recipient(nil), ok.Recipients...)
			tt.change(&m)
			if _, err := Build(m); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
	if _, err := Build(ok); err != nil {
		t.Errorf("the unchanged message fails: %v", err)
	}
}

// TestBuildHostile gives Build a remote reply and an original message
// that would break a naive report, and checks the report stays well
// formed.
func TestBuildHostile(t *testing.T) {
	m := Message{Hostname: "mx.example.org", To: "alice@example.org",
		Original: []byte("Subject: long\nX-Bare: cr\rhere\n\n" + strings.Repeat("z", 3000) + "\n"),
		Recipients: []Recipient{{FinalRecipient: "bob@example.com", Action: ActionFailed, Status: "5.0.0",
			DiagnosticCode: "550 " + strings.Repeat("A", 5000) + "\r\n--=_dsn_ boundary?\x00\x1b[31m é"}}}
	out, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkLines(out); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("\x00")) || bytes.Contains(out, []byte("\x1b")) {
		t.Error("control characters copied into the report")
	}
	if !bytes.Contains(out, []byte("Content-Type: text/rfc822-headers")) || bytes.Contains(out, []byte("zzz")) {
		t.Error("a body with an overlong line must be returned as its header only")
	}
	if !bytes.Contains(out, []byte("X-Bare: cr\r\nhere\r\n")) {
		t.Error("bare CR in the original not made CRLF")
	}
	rep, err := Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Recipients[0].DiagnosticCode.Value
	if len(d) > maxDiagnostic || !strings.HasPrefix(d, "550 AAAA") {
		t.Errorf("diagnostic of %d octets: %.40q", len(d), d)
	}
	if rep.Header.Get("Message-ID") == "" || rep.Header.Get("Date") == "" {
		t.Error("Message-ID or Date missing when not given")
	}
}

func TestJoinReply(t *testing.T) {
	for in, want := range map[string]string{
		"250 ok": "250 ok",
		"550-5.1.1 first\r\n550-5.1.1 second\r\n550 5.1.1 third": "550 5.1.1 first second third",
		"421-mx closing\n421 try later":                          "421 mx closing try later",
		"local failure without a code":                           "local failure without a code",
		"554-5.7.1 a\r\n554 5.7.2 b":                             "554 5.7.1 a 5.7.2 b",
		"\r\n\r\n":                                               "",
	} {
		if got := joinReply(in, false); got != want {
			t.Errorf("joinReply(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBoundaryAvoidsOriginal returns a message that contains the boundary
// the report would otherwise use.
func TestBoundaryAvoidsOriginal(t *testing.T) {
	first := boundaryFor("x@mx.example.org", nil)
	m := Message{Hostname: "mx.example.org", To: "a@example.org", MessageID: "x@mx.example.org",
		Original:   []byte("Subject: s\r\n\r\n--" + first + "--\r\n"),
		Recipients: []Recipient{{FinalRecipient: "b@example.com", Action: ActionFailed, Status: "5.1.1"}}}
	out, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("boundary=\""+first+"\"")) {
		t.Fatal("report uses a boundary found in the returned message")
	}
	rep, err := Parse(bytes.NewReader(out))
	if err != nil || len(rep.Recipients) != 1 {
		t.Fatalf("%v %v", rep, err)
	}
}
