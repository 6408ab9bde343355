package pop3

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// step is one command and the response it must get: the status line and,
// for a multi-line response, its lines up to the ".". A wanted line ending
// in "*" matches any line starting with the rest.
type step struct {
	cmd  string
	want []string
}

// sessionCases cover every command in every state. They run in order on
// one store; none of them ends in QUIT after a DELE, so the INBOX stays as
// it is for the next.
var sessionCases = []struct {
	name  string
	how   string // plain, stls or pop3s
	login bool   // USER and PASS first
	steps []step
}{
	{"CAPA before TLS offers STLS and no login", "plain", false, []step{
		{"CAPA", []string{"+OK capability list follows", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER", "IMPLEMENTATION Sealpost", "STLS", "."}},
	}},
	{"login refused before TLS", "plain", false, []step{
		{"USER " + ann, []string{"-ERR [AUTH] TLS is required first: use STLS"}},
		{"PASS " + annPassword, []string{"-ERR [AUTH] TLS is required first: use STLS"}},
		{"AUTH PLAIN " + plainResponse(ann, annPassword), []string{"-ERR [AUTH] TLS is required first: use STLS"}},
		{"AUTH", []string{"-ERR [AUTH] TLS is required first: use STLS"}},
		{"STAT", []string{"-ERR log in first"}},
		{"QUIT", []string{"+OK Sealpost POP3 server signing off"}},
	}},
	{"CAPA after STLS offers USER and SASL", "stls", false, []step{
		{"capa", []string{"+OK capability list follows", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER", "IMPLEMENTATION Sealpost", "USER", "SASL PLAIN", "."}},
		{"STLS", []string{"-ERR TLS is already active"}},
	}},
	{"CAPA on POP3S", "pop3s", false, []step{
		{"CAPA", []string{"+OK capability list follows", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER", "IMPLEMENTATION Sealpost", "USER", "SASL PLAIN", "."}},
		{"STLS", []string{"-ERR TLS is already active"}},
	}},
	{"AUTHORIZATION state refusals", "pop3s", false, []step{
		{"APOP ann@example.org c4c9334bac560ecc979e58001b3e22fb", []string{"-ERR APOP is not offered*"}},
		{"PASS " + annPassword, []string{"-ERR send USER first"}},
		{"USER", []string{"-ERR USER needs a name"}},
		{"LIST", []string{"-ERR log in first"}},
		{"RETR 1", []string{"-ERR log in first"}},
		{"NOOP", []string{"-ERR log in first"}},
		{"XYZZY", []string{"-ERR unknown command"}},
		{"", []string{"-ERR unknown command"}},
		{"STLS now", []string{"-ERR STLS takes no argument"}},
	}},
	{"USER and PASS", "stls", false, []step{
		{"USER " + ann, []string{"+OK send PASS"}},
		{"PASS wrong password", []string{"-ERR [AUTH] authentication failed"}},
		{"USER nobody@example.org", []string{"+OK send PASS"}},
		{"PASS " + annPassword, []string{"-ERR [AUTH] authentication failed"}},
		{"USER " + ann, []string{"+OK send PASS"}},
		{"PASS " + annPassword, []string{"+OK maildrop has 3 messages ({T} octets)"}},
		{"USER " + ann, []string{"-ERR already logged in"}},
		{"CAPA", []string{"+OK capability list follows", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER", "IMPLEMENTATION Sealpost", "."}},
		{"QUIT", []string{"+OK Sealpost POP3 server signing off (0 messages deleted)"}},
	}},
	{"AUTH PLAIN with initial response", "pop3s", false, []step{
		{"AUTH", []string{"+OK", "PLAIN", "."}},
		{"AUTH PLAIN " + plainResponse(ann, annPassword), []string{"+OK maildrop has 3 messages ({T} octets)"}},
		{"AUTH PLAIN " + plainResponse(ann, annPassword), []string{"-ERR already logged in"}},
	}},
	{"AUTH PLAIN without initial response", "stls", false, []step{
		{"AUTH PLAIN", []string{"+ "}},
		{plainResponse(ann, annPassword), []string{"+OK maildrop has 3 messages ({T} octets)"}},
	}},
	{"AUTH failures", "pop3s", false, []step{
		{"AUTH PLAIN " + plainResponse(ann, "wrong password"), []string{"-ERR [AUTH] authentication failed"}},
		{"AUTH PLAIN", []string{"+ "}},
		{"*", []string{"-ERR authentication cancelled"}},
		{"AUTH PLAIN", []string{"+ "}},
		{"not base64!", []string{"-ERR malformed authentication response"}},
		{"AUTH PLAIN =", []string{"-ERR malformed authentication response"}},
		{"AUTH CRAM-MD5", []string{"-ERR unsupported authentication mechanism"}},
		{"AUTH LOGIN", []string{"-ERR unsupported authentication mechanism"}},
		{"AUTH PLAIN " + plainResponse("bob@example.org", annPassword), []string{"-ERR [AUTH] authentication failed"}},
	}},
	{"STAT LIST UIDL", "pop3s", true, []step{
		{"STAT", []string{"+OK 3 {T}"}},
		{"LIST", []string{"+OK 3 messages ({T} octets)", "1 {S1}", "2 {S2}", "3 {S3}", "."}},
		{"LIST 2", []string{"+OK 2 {S2}"}},
		{"LIST 4", []string{"-ERR no such message"}},
		{"LIST 0", []string{"-ERR no such message"}},
		{"LIST -1", []string{"-ERR invalid message number"}},
		{"LIST 1 2", []string{"-ERR invalid message number"}},
		{"LIST 99999999999", []string{"-ERR invalid message number"}},
		{"UIDL", []string{"+OK 3 messages ({T} octets)", "1 {V}.1", "2 {V}.2", "3 {V}.3", "."}},
		{"UIDL 3", []string{"+OK 3 {V}.3"}},
		{"UIDL x", []string{"-ERR invalid message number"}},
		{"STAT 1", []string{"-ERR STAT takes no argument"}},
		{"NOOP", []string{"+OK"}},
		{"NOOP 1", []string{"-ERR NOOP takes no argument"}},
		{"FROB", []string{"-ERR unknown command"}},
	}},
	{"RETR byte-stuffs", "pop3s", true, []step{
		{"RETR 1", []string{"+OK {S1} octets", "From: bob@example.org", "To: ann@example.org", "Subject: one", "",
			"Hello.", "..dot line", "...two dots", "..", "last", "."}},
		{"RETR 3", []string{"+OK {S3} octets", "Subject: three", "", "bare lf", "no end", "."}},
		{"RETR 4", []string{"-ERR no such message"}},
		{"RETR", []string{"-ERR invalid message number"}},
	}},
	{"TOP", "stls", true, []step{
		{"TOP 1 0", []string{"+OK top of message follows", "From: bob@example.org", "To: ann@example.org", "Subject: one", "", "."}},
		{"TOP 2 2", []string{"+OK top of message follows", "Subject: two", "", "line1", "line2", "."}},
		{"TOP 1 3", []string{"+OK top of message follows", "From: bob@example.org", "To: ann@example.org", "Subject: one", "",
			"Hello.", "..dot line", "...two dots", "."}},
		{"TOP 3 100", []string{"+OK top of message follows", "Subject: three", "", "bare lf", "no end", "."}},
		{"TOP 2", []string{"-ERR TOP needs a message number and a line count"}},
		{"TOP 2 -1", []string{"-ERR invalid line count"}},
		{"TOP 9 1", []string{"-ERR no such message"}},
	}},
	{"DELE and RSET", "pop3s", true, []step{
		{"DELE 1", []string{"+OK message 1 deleted"}},
		{"DELE 1", []string{"-ERR message 1 already deleted"}},
		{"RETR 1", []string{"-ERR message 1 already deleted"}},
		{"TOP 1 0", []string{"-ERR message 1 already deleted"}},
		{"LIST 1", []string{"-ERR message 1 already deleted"}},
		{"STAT", []string{"+OK 2 {S23}"}},
		{"LIST", []string{"+OK 2 messages ({S23} octets)", "2 {S2}", "3 {S3}", "."}},
		{"UIDL", []string{"+OK 2 messages ({S23} octets)", "2 {V}.2", "3 {V}.3", "."}},
		{"RSET", []string{"+OK maildrop has 3 messages ({T} octets)"}},
		{"RSET x", []string{"-ERR RSET takes no argument"}},
		{"STAT", []string{"+OK 3 {T}"}},
		{"DELE 2", []string{"+OK message 2 deleted"}},
		{"RSET", []string{"+OK maildrop has 3 messages ({T} octets)"}},
		{"QUIT", []string{"+OK Sealpost POP3 server signing off (0 messages deleted)"}},
	}},
}

func TestPOP3Session(t *testing.T) {
	e := newEnv(t, Limits{MaxErrors: 100, MaxAuthFailures: 100}, 0)
	size := func(i int) int { return len(testMessages[i]) }
	vars := strings.NewReplacer(
		"{T}", fmt.Sprint(size(0)+size(1)+size(2)),
		"{S1}", fmt.Sprint(size(0)), "{S2}", fmt.Sprint(size(1)), "{S3}", fmt.Sprint(size(2)),
		"{S23}", fmt.Sprint(size(1)+size(2)),
		"{V}", fmt.Sprint(e.inbox.UIDValidity),
	)
	for _, tc := range sessionCases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.connect(t, tc.how)
			if tc.login {
				c.login()
			}
			for _, s := range tc.steps {
				got := []string{c.cmd(s.cmd)}
				if len(s.want) > 1 && strings.HasPrefix(got[0], "+OK") {
					got = append(got, c.readMulti()...)
				}
				if !linesMatch(got, s.want, vars) {
					t.Fatalf("%q:\n got %q\nwant %q", s.cmd, got, s.want)
				}
			}
		})
	}
	if got := len(e.messages(t)); got != len(testMessages) {
		t.Errorf("INBOX has %d messages after sessions that deleted nothing, want %d", got, len(testMessages))
	}
}

func linesMatch(got, want []string, vars *strings.Replacer) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		w := vars.Replace(want[i])
		if prefix, ok := strings.CutSuffix(w, "*"); ok {
			if !strings.HasPrefix(got[i], prefix) {
				return false
			}
		} else if got[i] != w {
			return false
		}
	}
	return true
}

// TestPOP3DeleteOnlyAtQuit: DELE deletes nothing until QUIT; a dropped
// connection or a shutdown leaves the INBOX as it was; a clean QUIT
// expunges, in a way IMAP sees, and flags what was retrieved \Seen.
func TestPOP3DeleteOnlyAtQuit(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	uids := func() []uint32 {
		var u []uint32
		for _, m := range e.messages(t) {
			u = append(u, m.UID)
		}
		return u
	}

	// Dropped connection.
	c := e.connect(t, "pop3s")
	c.login()
	c.expect("DELE 1", "+OK")
	c.expect("DELE 2", "+OK")
	c.conn.Close()
	time.Sleep(100 * time.Millisecond)
	if got := uids(); !slices.Equal(got, []uint32{1, 2, 3}) {
		t.Fatalf("after a dropped connection INBOX has UIDs %v", got)
	}

	mb, err := e.st.GetMailbox(t.Context(), e.inbox.AccountID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	before := mb.HighestModSeq

	// Clean QUIT.
	c = e.connect(t, "stls")
	c.login()
	c.expect("RETR 2", "+OK")
	c.readMulti()
	c.expect("RETR 3", "+OK")
	c.readMulti()
	c.expect("DELE 1", "+OK")
	c.expect("DELE 3", "+OK")
	// Another session in the meantime sees all three: deletion waits for QUIT.
	c2 := e.connect(t, "pop3s")
	c2.login()
	c2.expect("STAT", "+OK 3 ")
	c2.expect("QUIT", "+OK")
	if got := uids(); len(got) != 3 {
		t.Fatalf("before QUIT INBOX has UIDs %v", got)
	}
	c.expect("QUIT", "+OK Sealpost POP3 server signing off (2 messages deleted)")
	c.closed()
	if got := uids(); !slices.Equal(got, []uint32{2}) {
		t.Fatalf("after QUIT INBOX has UIDs %v, want [2]", got)
	}
	// An IMAP session catching up with QRESYNC sees the expunges.
	gone, err := e.st.ExpungedSince(t.Context(), e.inbox.ID, before)
	if err != nil {
		t.Fatal(err)
	}
	if len(gone) != 2 || gone[0].UID != 1 || gone[1].UID != 3 {
		t.Errorf("tombstones %+v, want UIDs 1 and 3", gone)
	}
	m, err := e.st.GetMessage(t.Context(), e.inbox.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(m.Flags, `\Seen`) {
		t.Errorf("retrieved message 2 has flags %v, want \\Seen", m.Flags)
	}

	// Shutdown in TRANSACTION: -ERR [SYS/TEMP], nothing deleted.
	c = e.connect(t, "pop3s")
	c.login()
	c.expect("DELE 1", "+OK")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	e.lns[POP3S].Close()
	if err := e.srvs[POP3S].Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.readLine(); !strings.HasPrefix(got, "-ERR [SYS/TEMP]") {
		t.Errorf("at shutdown: %q", got)
	}
	c.closed()
	if got := uids(); !slices.Equal(got, []uint32{2}) {
		t.Fatalf("after a shutdown INBOX has UIDs %v, want [2]", got)
	}
}

// TestPOP3Snapshot: the maildrop is fixed at login. A message delivered later
// shows in the next session; one expunged by another session answers -ERR.
func TestPOP3Snapshot(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	c := e.connect(t, "pop3s")
	c.login()
	e.deliver(t, "Subject: four\r\n\r\nlate\r\n")
	c.expect("STAT", fmt.Sprintf("+OK 3 %d", len(testMessages[0])+len(testMessages[1])+len(testMessages[2])))
	if got := c.cmd("LIST 4"); got != "-ERR no such message" {
		t.Errorf("LIST 4 in the old session: %q", got)
	}

	// Another session (IMAP or POP3) expunges message 1.
	if _, err := e.st.Expunge(t.Context(), e.inbox.ID, []uint32{1}); err != nil {
		t.Fatal(err)
	}
	if got := c.cmd("RETR 1"); got != "-ERR message 1 was removed by another session" {
		t.Errorf("RETR of an expunged message: %q", got)
	}
	c.expect("DELE 1", "+OK")
	c.expect("QUIT", "+OK Sealpost POP3 server signing off (1 messages deleted)")

	c = e.connect(t, "pop3s")
	c.login()
	c.expect("STAT", "+OK 3 ")
	c.expect("UIDL 3", "+OK 3 "+fmt.Sprint(e.inbox.UIDValidity)+".4")
}

// TestPOP3STLSInjection: commands sent in the same packet as STLS, before the
// handshake, are dropped rather than run inside the TLS session.
func TestPOP3STLSInjection(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	c := e.connect(t, "plain")
	c.send("STLS\r\nUSER " + ann + "\r\nCAPA\r\n")
	if got := c.readLine(); got != "+OK begin TLS negotiation" {
		t.Fatalf("STLS: %q", got)
	}
	c.upgrade()
	// Had the USER been kept, PASS would log in.
	if got := c.cmd("PASS " + annPassword); got != "-ERR send USER first" {
		t.Fatalf("PASS after injected USER: %q", got)
	}
	if got := c.cmd("QUIT"); got != "+OK Sealpost POP3 server signing off" {
		t.Fatalf("QUIT: %q (an injected command was answered)", got)
	}
	c.closed()
}

// TestPOP3Pipelining: a batch of commands in one write is answered in order.
func TestPOP3Pipelining(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	c := e.connect(t, "pop3s")
	c.send("USER " + ann + "\r\nPASS " + annPassword + "\r\nSTAT\r\nTOP 2 1\r\nDELE 2\r\nLIST 2\r\nRSET\r\nQUIT\r\n")
	var got []string
	for range 7 {
		got = append(got, c.readLine())
	}
	got = append(got, c.readLine()) // the rest of TOP's lines are read below
	want := []string{"+OK send PASS", "+OK maildrop has 3 messages*", "+OK 3 *", "+OK top of message follows", "Subject: two", "", "line1", "."}
	if !linesMatch(got, want, strings.NewReplacer()) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	for _, w := range []string{"+OK message 2 deleted", "-ERR message 2 already deleted", "+OK maildrop has 3 messages*", "+OK Sealpost POP3 server signing off (0 messages deleted)"} {
		if l := c.readLine(); !linesMatch([]string{l}, []string{w}, strings.NewReplacer()) {
			t.Fatalf("got %q, want %q", l, w)
		}
	}
}

// TestPOP3Limits: each limit ends or refuses what passes it.
func TestPOP3Limits(t *testing.T) {
	t.Run("line too long", func(t *testing.T) {
		e := newEnv(t, Limits{MaxLineLength: 100, MaxErrors: 3}, 0)
		c := e.connect(t, "pop3s")
		if got := c.cmd("NOOP " + strings.Repeat("x", 5000)); got != "-ERR line too long" {
			t.Fatalf("long line: %q", got)
		}
		if got := c.cmd("CAPA"); got != "+OK capability list follows" {
			t.Fatalf("after a long line: %q", got)
		}
		c.readMulti()
	})
	t.Run("too many errors", func(t *testing.T) {
		e := newEnv(t, Limits{MaxErrors: 3}, 0)
		c := e.connect(t, "pop3s")
		c.login()
		c.expect("RETR 9", "-ERR no such message")
		c.expect("BOGUS", "-ERR unknown command")
		c.expect("LIST x", "-ERR invalid message number")
		if got := c.readLine(); got != "-ERR too many errors, closing connection" {
			t.Fatalf("third error: %q", got)
		}
		c.closed()
		if n := len(e.messages(t)); n != 3 {
			t.Errorf("INBOX has %d messages", n)
		}
	})
	t.Run("auth failures", func(t *testing.T) {
		e := newEnv(t, Limits{MaxAuthFailures: 2}, 0)
		c := e.connect(t, "pop3s")
		c.expect("USER "+ann, "+OK")
		c.expect("PASS nope", "-ERR [AUTH] authentication failed")
		c.expect("AUTH PLAIN "+plainResponse(ann, "nope again"), "-ERR [AUTH] authentication failed; too many failures, closing connection")
		c.closed()
		entries, err := e.st.QueryLog(t.Context(), store.LogQuery{Kind: "login"})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 2 || entries[0].Protocol != "pop3" || entries[0].Outcome != "fail" || !entries[0].RemoteIP.IsLoopback() {
			t.Errorf("login log %+v, want two pop3 failures from loopback", entries)
		}
	})
	t.Run("idle timeout", func(t *testing.T) {
		e := newEnv(t, Limits{IdleTimeout: 200 * time.Millisecond}, 0)
		c := e.connect(t, "pop3s")
		c.login()
		c.expect("DELE 1", "+OK")
		if got := c.readLine(); got != "-ERR idle for too long, closing connection; no messages deleted" {
			t.Fatalf("idle: %q", got)
		}
		c.closed()
		if n := len(e.messages(t)); n != 3 {
			t.Errorf("a timed-out session deleted: INBOX has %d messages", n)
		}
	})
	t.Run("sessions per listener", func(t *testing.T) {
		e := newEnv(t, Limits{MaxSessions: 2}, 0)
		e.connect(t, "plain")
		e.connect(t, "plain")
		c := dial(t, e.addrs[POP3])
		if got := c.readLine(); got != "-ERR [SYS/TEMP] too busy, try again later" {
			t.Fatalf("third session: %q", got)
		}
		c.closed()
		// The other listener counts its own.
		e.connect(t, "pop3s")
	})
	t.Run("connections per source", func(t *testing.T) {
		e := newEnv(t, Limits{}, 1)
		e.connect(t, "plain")
		c := dial(t, e.addrs[POP3])
		if got := c.readLine(); got != "-ERR [SYS/TEMP] too many connections from your address" {
			t.Fatalf("second connection: %q", got)
		}
		c.closed()
	})
}

// TestPOP3LoginLog: logins and failures are recorded for the account.
func TestPOP3LoginLog(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	c := e.connect(t, "pop3s")
	c.expect("AUTH PLAIN "+plainResponse(ann, annPassword), "+OK")
	c.expect("QUIT", "+OK")
	c = e.connect(t, "stls")
	c.login()
	entries, err := e.st.QueryLog(t.Context(), store.LogQuery{Kind: "login"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range entries {
		got = append(got, en.Protocol+" "+en.Outcome+" "+en.Method)
		if en.AccountID != e.inbox.AccountID {
			t.Errorf("entry %+v: account %d, want %d", en, en.AccountID, e.inbox.AccountID)
		}
	}
	slices.Sort(got)
	if want := []string{"pop3 ok PLAIN", "pop3 ok USER/PASS"}; !slices.Equal(got, want) {
		t.Errorf("login log %q, want %q", got, want)
	}
}
