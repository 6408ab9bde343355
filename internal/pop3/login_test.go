package pop3

import (
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

// TestLoginTwoStep: with 2-step verification on, POP3 takes only app
// passwords scoped to it, and the login log says why it refused.
func TestLoginTwoStep(t *testing.T) {
	e := newEnv(t, Limits{MaxAuthFailures: 10}, 0)
	ctx := t.Context()
	if _, err := e.acc.EnableTwoStep(ctx, ann); err != nil {
		t.Fatal(err)
	}
	_, imapPW, err := e.acc.AddAppPassword(ctx, ann, "imap only", []string{"imap"})
	if err != nil {
		t.Fatal(err)
	}
	_, popPW, err := e.acc.AddAppPassword(ctx, ann, "phone", []string{"pop3", "imap"})
	if err != nil {
		t.Fatal(err)
	}
	c := e.connect(t, "pop3s")
	c.expect("USER "+ann, "+OK")
	c.expect("PASS "+annPassword, "-ERR [AUTH] authentication failed")
	c.expect("USER "+ann, "+OK")
	c.expect("PASS "+imapPW, "-ERR [AUTH] authentication failed")
	c.expect("AUTH PLAIN "+plainResponse(ann, popPW), "+OK")

	es, err := e.st.QueryLog(ctx, store.LogQuery{Kind: "login"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range es {
		got = append(got, strings.Join([]string{en.Protocol, en.Client, en.Method, en.Outcome, en.Detail}, "|"))
	}
	want := []string{
		`pop3||PLAIN|ok|app password "phone"`,
		`pop3||USER/PASS|fail|app password "imap only" is not for pop3 (only imap)`,
		`pop3||USER/PASS|fail|2-step verification is on: use an app password`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("login log, newest first:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
