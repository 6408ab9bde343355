package imapserver

import (
	"encoding/base64"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

// TestLoginTwoStep: with 2-step verification on, LOGIN and AUTHENTICATE
// take app passwords only, and every attempt is in the login log with the
// client's ID, the method and the reason.
func TestLoginTwoStep(t *testing.T) {
	e := newEnv(t, Limits{MaxAuthFailures: 10}, 0)
	ctx := t.Context()
	if _, err := e.acc.EnableTwoStep(ctx, ann); err != nil {
		t.Fatal(err)
	}
	_, imapPW, err := e.acc.AddAppPassword(ctx, ann, "mail app", []string{"imap"})
	if err != nil {
		t.Fatal(err)
	}
	_, smtpPW, err := e.acc.AddAppPassword(ctx, ann, "printer", []string{"smtp"})
	if err != nil {
		t.Fatal(err)
	}

	c := e.connect(t, "imaps", false)
	c.expect(`ID ("name" "TestMail" "version" "1.2" "os" "Plan 9")`, "OK")
	c.expect(`LOGIN `+ann+` "ann's long password"`, "NO [AUTHENTICATIONFAILED]")
	c.expect(`LOGIN `+ann+` `+smtpPW, "NO [AUTHENTICATIONFAILED]")
	c.expect(`LOGIN `+ann+` `+imapPW, "OK")
	c.expect(`ID ("name" "Renamed")`, "OK") // after login: not taken
	c.expect("SELECT INBOX", "OK")

	c2 := e.connect(t, "imaps", false)
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + ann + "\x00" + imapPW))
	c2.expect("AUTHENTICATE PLAIN "+plain, "OK")

	es, err := e.st.QueryLog(ctx, store.LogQuery{Kind: "login"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range es {
		if en.AccountID == 0 || !en.RemoteIP.IsLoopback() {
			t.Errorf("entry %+v", en)
		}
		got = append(got, strings.Join([]string{en.Protocol, en.Client, en.Method, en.Outcome, en.Detail}, "|"))
	}
	want := []string{
		`imap||PLAIN|ok|app password "mail app"`,
		`imap|TestMail/1.2|LOGIN|ok|app password "mail app"`,
		`imap|TestMail/1.2|LOGIN|fail|app password "printer" is not for imap (only smtp)`,
		`imap|TestMail/1.2|LOGIN|fail|2-step verification is on: use an app password`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("login log, newest first:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestIDClient(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want string
	}{
		{`ID ("name" "Thunderbird" "version" "128.0")`, "Thunderbird/128.0"},
		{`ID ("NAME" "K-9 Mail")`, "K-9 Mail"},
		{`ID ("version" "1")`, ""},
		{`ID NIL`, ""},
		{`ID ("name" "caf` + "\u00e9" + `")`, "caf?"},
		{`ID ("name" "` + strings.Repeat("x", 300) + `")`, strings.Repeat("x", maxClientLen)},
	} {
		e := newEnv(t, Limits{}, 0)
		c := e.connect(t, "imaps", false)
		c.expect(tc.id, "OK")
		c.expect("LOGIN "+ann+" \"ann's long password\"", "OK")
		es, err := e.st.QueryLog(t.Context(), store.LogQuery{Kind: "login", Limit: 1})
		if err != nil || len(es) != 1 {
			t.Fatalf("QueryLog = %+v, %v", es, err)
		}
		if es[0].Client != tc.want {
			t.Errorf("%s: client %q, want %q", tc.id, es[0].Client, tc.want)
		}
	}
}
