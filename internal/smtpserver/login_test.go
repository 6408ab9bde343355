package smtpserver

import (
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

// TestLoginTwoStep: with 2-step verification on, submission takes only
// app passwords scoped to SMTP, and the login log names the client by its
// EHLO name and says why it refused.
func TestLoginTwoStep(t *testing.T) {
	e := newEnv(t, Limits{MaxAuthFailures: 10}, 0)
	ctx := t.Context()
	const ann = "ann@example.org"
	if _, err := e.acc.EnableTwoStep(ctx, ann); err != nil {
		t.Fatal(err)
	}
	_, imapPW, err := e.acc.AddAppPassword(ctx, ann, "imap only", []string{"imap"})
	if err != nil {
		t.Fatal(err)
	}
	_, smtpPW, err := e.acc.AddAppPassword(ctx, ann, "laptop", []string{"smtp"})
	if err != nil {
		t.Fatal(err)
	}
	c := dialTLS(t, e.addrs[Submissions])
	c.greet()
	if code, text := c.login(ann, annPassword); code != 535 {
		t.Errorf("main password: %d %s, want 535", code, text)
	}
	if code, text := c.login(ann, imapPW); code != 535 {
		t.Errorf("app password for IMAP: %d %s, want 535", code, text)
	}
	c.expect("AUTH LOGIN", 334)
	c.expect(b64(ann), 334)
	c.expect(b64(smtpPW), 235)

	es, err := e.st.QueryLog(ctx, store.LogQuery{Kind: "login"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range es {
		got = append(got, strings.Join([]string{en.Protocol, en.Client, en.Method, en.Outcome, en.Detail}, "|"))
	}
	want := []string{
		`smtp|client.example|LOGIN|ok|app password "laptop"`,
		`smtp|client.example|PLAIN|fail|app password "imap only" is not for smtp (only imap)`,
		`smtp|client.example|PLAIN|fail|2-step verification is on: use an app password`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("login log, newest first:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
