package imapserver

import (
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// TestNotify runs two sessions of ann on loopback: the watcher sets
// NOTIFY, the other changes things, and the watcher must hear of it
// within 1 s without sending a command. The poll interval is long, so
// what arrives came by the hub.
func TestNotify(t *testing.T) {
	do := func(cmds ...string) func(*env, *client) {
		return func(e *env, c *client) {
			for _, cmd := range cmds {
				c.expect(cmd, "OK")
			}
		}
	}
	// deliver stores a message the way SMTP delivery does: through the
	// store, then a ring for the mailbox alone.
	deliver := func(e *env, _ *client) {
		e.deliver(t, "Subject: by smtp\r\n\r\nhi\r\n")
		e.srvs[IMAPS].hub.Changed(e.inbox.ID)
	}
	tests := []struct {
		name    string
		setup   []string // the watcher's commands, each OK
		idle    bool     // the watcher then idles
		act     func(*env, *client)
		want    []string // unsolicited, in any order
		notWant []string
	}{
		{"MessageNew elsewhere", []string{"NOTIFY SET (PERSONAL (MessageNew MessageExpunge))"}, false,
			do("APPEND Archive {6+}\r\nx: y\r\n"),
			[]string{"* STATUS Archive (MESSAGES 1 UIDNEXT 2 UIDVALIDITY "}, nil},
		{"MessageExpunge elsewhere", []string{"NOTIFY SET (INBOXES (MessageNew MessageExpunge))"}, false,
			do("SELECT INBOX", `STORE 1 +FLAGS (\Deleted)`, "EXPUNGE"),
			[]string{"* STATUS INBOX (MESSAGES 2 UIDNEXT 4 UIDVALIDITY "}, nil},
		{"delivery rings the account", []string{"NOTIFY SET (INBOXES (MessageNew MessageExpunge))"}, false,
			deliver, []string{"* STATUS INBOX (MESSAGES 4 UIDNEXT 5 "}, nil},
		{"FlagChange elsewhere", []string{"NOTIFY SET (MAILBOXES INBOX (MessageNew MessageExpunge FlagChange))"}, false,
			do("SELECT INBOX", `STORE 2 +FLAGS (\Flagged)`),
			[]string{"* STATUS INBOX (UIDVALIDITY ", " HIGHESTMODSEQ 4)"}, nil},
		{"MailboxName", []string{"NOTIFY SET (PERSONAL (MailboxName))"}, false,
			do("CREATE Fresh", "RENAME Fresh Stale", "CREATE Gone", "DELETE Gone"),
			[]string{`"/" Stale ("OLDNAME" (Fresh))`, `* LIST (\NonExistent) "/" Gone`}, []string{"STATUS"}},
		{"SubscriptionChange in a subtree", []string{"CREATE Projects/A", "CREATE Other", "NOTIFY SET (SUBTREE Projects (SubscriptionChange MessageNew MessageExpunge))"}, false,
			do("SUBSCRIBE Projects/A", "SUBSCRIBE Projects/Later", "SUBSCRIBE Other", "APPEND Other {6+}\r\nx: y\r\n"),
			[]string{`* LIST (\Subscribed) "/" Projects/A`, `* LIST (\NonExistent \Subscribed) "/" Projects/Later`},
			[]string{"Other"}},
		{"SELECTED with fetch attributes", []string{"SELECT INBOX", "NOTIFY SET (SELECTED (MessageNew (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)]) MessageExpunge FlagChange))"}, false,
			func(e *env, c *client) {
				do("APPEND INBOX {16+}\r\nSubject: new\r\n\r\n", "SELECT INBOX", `STORE 1 +FLAGS (\Deleted)`, "EXPUNGE")(e, c)
			},
			// The watcher may hear of the append before the expunge (4
			// EXISTS, then 4 FETCH) or of both at once (1 EXPUNGE, 3
			// EXISTS, 3 FETCH): either way UID 4 is announced with its
			// attributes, and message 1 goes.
			[]string{" EXISTS", " FETCH (UID 4 BODY[HEADER.FIELDS (SUBJECT)] {", "* 1 EXPUNGE"}, nil},
		{"SELECTED-DELAYED reports flag changes", []string{"SELECT INBOX", "NOTIFY SET (SELECTED-DELAYED (MessageNew MessageExpunge FlagChange))"}, false,
			do("SELECT INBOX", `STORE 1 +FLAGS (\Deleted)`),
			[]string{`* 1 FETCH (UID 1 FLAGS (\Deleted))`}, nil},
		// The flag change may or may not be seen before the expunge that
		// follows it at once; the expunge itself must wait for a command.
		{"SELECTED-DELAYED keeps expunges", []string{"SELECT INBOX", "NOTIFY SET (SELECTED-DELAYED (MessageNew MessageExpunge FlagChange))"}, false,
			do("SELECT INBOX", `STORE 1 +FLAGS (\Deleted)`, "EXPUNGE", "APPEND INBOX {6+}\r\nx: y\r\n"),
			[]string{"* 4 EXISTS"}, []string{"EXPUNGE"}},
		{"selected mailbox not in the groups' STATUS", []string{"SELECT INBOX", "NOTIFY SET (SELECTED (MessageNew MessageExpunge)) (PERSONAL (MessageNew MessageExpunge))"}, false,
			do("APPEND INBOX {6+}\r\nx: y\r\n", "APPEND Archive {6+}\r\nx: y\r\n"),
			[]string{"* 4 EXISTS", "* STATUS Archive (MESSAGES 1 "}, []string{"STATUS INBOX"}},
		{"while idling", []string{"NOTIFY SET (PERSONAL (MessageNew MessageExpunge MailboxName))"}, true,
			do("CREATE Idle", "APPEND Idle {6+}\r\nx: y\r\n"),
			[]string{`* LIST () "/" Idle`, "* STATUS Idle (MESSAGES 1 UIDNEXT 2 "}, nil},
		{"NOTIFY NONE", []string{"NOTIFY SET (PERSONAL (MessageNew MessageExpunge MailboxName))", "NOTIFY NONE"}, false,
			do("APPEND Archive {6+}\r\nx: y\r\n", "CREATE Quiet"),
			nil, []string{"STATUS", "LIST"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Limits{PollInterval: 5 * time.Second}, 0)
			watcher, other := e.connect(t, "imaps", true), e.connect(t, "imaps", true)
			for _, cmd := range tc.setup {
				watcher.expect(cmd, "OK")
			}
			if tc.idle {
				watcher.send("i1 IDLE\r\n")
				if l := watcher.readLine(); !strings.HasPrefix(l, "+ ") {
					t.Fatalf("IDLE: %q", l)
				}
			}
			tc.act(e, other)
			got := readFor(watcher, time.Second, tc.want)
			all := strings.Join(got, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("within 1 s no %q; got:\n%s", w, all)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(all, w) {
					t.Errorf("unwanted %q; got:\n%s", w, all)
				}
			}
		})
	}
}

// readFor reads unsolicited responses for up to d, or until every want
// has been seen.
func readFor(c *client, d time.Duration, want []string) []string {
	deadline := time.Now().Add(d)
	var got []string
	for time.Now().Before(deadline) {
		c.conn.SetReadDeadline(deadline)
		line, err := c.r.ReadString('\n')
		if err != nil {
			break
		}
		got = append(got, strings.TrimSuffix(line, "\r\n"))
		all := strings.Join(got, "\n")
		done := len(want) > 0
		for _, w := range want {
			done = done && strings.Contains(all, w)
		}
		if done {
			break
		}
	}
	c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	return got
}

func TestNotifyOverflow(t *testing.T) {
	e := newEnv(t, Limits{PollInterval: 5 * time.Second, NotifyBatch: 2}, 0)
	c := e.connect(t, "imaps", true)
	c.expect("SELECT INBOX", "OK")
	c.expect("NOTIFY SET (SELECTED (MessageNew (UID) MessageExpunge)) (PERSONAL (MessageNew MessageExpunge))", "OK")
	for range 3 {
		e.deliver(t, "Subject: many\r\n\r\nx\r\n")
	}
	e.srvs[IMAPS].hub.Changed(e.inbox.ID)
	got := strings.Join(readFor(c, time.Second, []string{"NOTIFICATIONOVERFLOW"}), "\n")
	if !strings.Contains(got, "* 6 EXISTS") || !strings.Contains(got, "* OK [NOTIFICATIONOVERFLOW]") || strings.Contains(got, "FETCH") {
		t.Fatalf("after 3 new messages with a batch of 2:\n%s", got)
	}
	// NOTIFY is off now: nothing more comes unasked.
	e.deliver(t, "Subject: one more\r\n\r\nx\r\n")
	e.srvs[IMAPS].hub.Changed(e.inbox.ID)
	if got := readFor(c, 700*time.Millisecond, nil); len(got) > 0 {
		t.Errorf("after the overflow: %q", got)
	}
	c.expect("NOOP", "OK")
}

// TestNotifyOverflowAccount has more mailbox events in one round than
// the batch allows.
func TestNotifyOverflowAccount(t *testing.T) {
	e := newEnv(t, Limits{PollInterval: 5 * time.Second, NotifyBatch: 2}, 0)
	c := e.connect(t, "imaps", true)
	c.expect("NOTIFY SET (PERSONAL (MailboxName))", "OK")
	for _, name := range []string{"One", "Two", "Three"} {
		if _, err := e.st.CreateMailbox(t.Context(), e.inbox.AccountID, store.NewMailbox{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	e.srvs[IMAPS].hub.AccountChanged(e.inbox.AccountID)
	got := strings.Join(readFor(c, time.Second, []string{"NOTIFICATIONOVERFLOW"}), "\n")
	if !strings.Contains(got, "* OK [NOTIFICATIONOVERFLOW]") || strings.Contains(got, "LIST") {
		t.Fatalf("after 3 new mailboxes with a batch of 2:\n%s", got)
	}
	c.expect("NOOP", "OK")
}

func TestNotifyErrors(t *testing.T) {
	runScript(t, newEnv(t, Limits{}, 0), []cstep{
		{0, "CAPABILITY", "OK", []string{" NOTIFY"}, nil},
		{0, "NOTIFY SET (PERSONAL (AnnotationChange))", "NO [BADEVENT (", nil, nil},
		{0, "NOTIFY SET (PERSONAL (MessageNew (UID) MessageExpunge))", "BAD", nil, nil},
		{0, "NOTIFY SET (SELECTED (MessageNew)) (SELECTED-DELAYED (MessageNew))", "BAD", nil, nil},
		{0, "NOTIFY SET (SELECTED (MailboxName))", "BAD", nil, nil},
		{0, "NOTIFY SET (PERSONAL (Bogus))", "BAD", nil, nil},
		{0, "NOTIFY SET STATUS (INBOXES (MessageNew MessageExpunge))", "OK", []string{"* STATUS INBOX (MESSAGES 3 UIDNEXT 4 UIDVALIDITY "}, nil},
		{0, "NOTIFY SET STATUS (INBOXES (MailboxName))", "OK", nil, []string{"STATUS"}},
		{0, "NOTIFY NONE", "OK", nil, nil},
		{1, "NOTIFY SET (SELECTED (MessageNew MessageExpunge))", "OK", nil, nil},
		{1, "LOGOUT", "OK", nil, nil},
	})
}

// BenchmarkNotify measures an APPEND in one session until the other,
// under NOTIFY, has read the STATUS announcing it.
func BenchmarkNotify(b *testing.B) {
	e := newEnv(b, Limits{PollInterval: 5 * time.Second}, 0)
	watcher, other := e.connect(b, "imaps", true), e.connect(b, "imaps", true)
	watcher.expect("NOTIFY SET (PERSONAL (MessageNew MessageExpunge))", "OK")
	for b.Loop() {
		other.expect("APPEND Archive {6+}\r\nx: y\r\n", "OK")
		for !strings.HasPrefix(watcher.readLine(), "* STATUS Archive") {
		}
	}
}
