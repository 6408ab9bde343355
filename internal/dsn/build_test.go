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
