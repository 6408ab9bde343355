package imapserver

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/imap"
)

// step is one command and what must come back: the tagged status prefix,
// substrings the untagged responses must hold, and substrings they must not.
type step struct {
	cmd    string
	status string
	want   []string
	not    []string
}

func plainIR(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

func TestSession(t *testing.T) {
	tests := []struct {
		name  string
		how   string // plain, starttls, imaps
		login bool
		steps []step
	}{
		{"capability before TLS", "plain", false, []step{
			{"CAPABILITY", "OK", []string{"STARTTLS", "LOGINDISABLED", "IMAP4rev2"}, []string{"AUTH="}},
			{"LOGIN " + ann + " x", "NO [PRIVACYREQUIRED]", nil, nil},
			{"AUTHENTICATE PLAIN " + plainIR(ann, annPassword), "NO [PRIVACYREQUIRED]", nil, nil},
			{"SELECT INBOX", "BAD [CLIENTBUG]", nil, nil},
			{"NOOP", "OK", nil, nil},
			{"ID NIL", "OK", []string{`* ID ("name" "Sealpost")`}, nil},
		}},
		{"capability after STARTTLS", "starttls", false, []step{
			{"CAPABILITY", "OK", []string{"AUTH=PLAIN", "SASL-IR"}, []string{"STARTTLS", "LOGINDISABLED"}},
			{"STARTTLS", "BAD", nil, nil},
			{"LOGIN " + ann + " wrong", "NO [AUTHENTICATIONFAILED]", nil, nil},
			{"AUTHENTICATE PLAIN " + plainIR(ann, annPassword), "OK [CAPABILITY", nil, nil},
			{"CAPABILITY", "OK", []string{"IDLE", "UIDPLUS", "MOVE", "APPENDLIMIT="}, []string{"AUTH="}},
			{"LOGIN " + ann + " x", "BAD [CLIENTBUG]", nil, nil},
		}},
		{"implicit TLS login", "imaps", false, []step{
			{"AUTHENTICATE CRAM-MD5", "NO", nil, nil},
			{`LOGIN "ann@example.org" "ann's long password"`, "OK", nil, nil},
			{"ENABLE IMAP4rev2", "OK", []string{"* ENABLED IMAP4rev2"}, nil},
			{"NAMESPACE", "OK", []string{`* NAMESPACE (("" "/")) NIL NIL`}, nil},
			{"LOGOUT", "OK", []string{"* BYE"}, nil},
		}},
		{"syntax and state errors", "imaps", true, []step{
			{"FETCH 1 FLAGS", "BAD [CLIENTBUG]", nil, nil},
			{"CLOSE", "BAD [CLIENTBUG]", nil, nil},
			{"FROB", "BAD", nil, nil},
			{"SELECT", "BAD", nil, nil},
			{"SELECT Nowhere", "NO [NONEXISTENT]", nil, nil},
			{"SELECT INBOX (QRESYNC (1 1))", "BAD", nil, nil},
			{"EXAMINE INBOX", "OK [READ-ONLY]", []string{"* 3 EXISTS"}, nil},
			{"STORE 1 +FLAGS (\\Seen)", "NO [READ-ONLY]", nil, nil},
			{"FETCH 1 (BODY[])", "OK", nil, []string{`\Seen`}},
			{"FETCH 1:* FLAGS", "OK", []string{"* 1 FETCH (FLAGS ())"}, []string{`\Seen`}},
			{"STORE 1 FLAGS (\\Recent)", "NO [READ-ONLY]", nil, nil},
			{"FETCH x FLAGS", "BAD", nil, nil},
		}},
		{"list and mailboxes", "imaps", true, []step{
			{`LIST "" ""`, "OK", []string{`* LIST (\Noselect) "/" ""`}, nil},
			{`LIST "" "*"`, "OK", []string{`* LIST (\HasNoChildren) "/" INBOX`, `* LIST (\HasNoChildren \Archive) "/" Archive`, `\Trash) "/" Trash`}, nil},
			{`CREATE Work/Project`, "OK", nil, nil},
			{`CREATE Work`, "NO [ALREADYEXISTS]", nil, nil},
			{`CREATE "bad*name"`, "BAD", nil, nil},
			{`LIST "" "%"`, "OK", []string{`* LIST (\HasChildren) "/" Work`}, []string{"Work/Project"}},
			{`LIST "" "Work/*"`, "OK", []string{`* LIST (\HasNoChildren) "/" Work/Project`}, []string{`"/" Work` + "\r"}},
			{`LIST (SPECIAL-USE) "" "*"`, "OK", []string{`\Archive`}, []string{"INBOX", "Work"}},
			{`CREATE Stuff (USE (\Flagged))`, "OK", nil, nil},
			{`LIST "" Stuff`, "OK", []string{`* LIST (\HasNoChildren \Flagged) "/" Stuff`}, nil},
			{`RENAME Work/Project Work/Done`, "OK", nil, nil},
			{`RENAME INBOX Old`, "NO", nil, nil},
			{`RENAME Nowhere Else`, "NO [NONEXISTENT]", nil, nil},
			{`DELETE Work/Done`, "OK", nil, nil},
			{`DELETE INBOX`, "NO", nil, nil},
			{`DELETE Nowhere`, "NO [NONEXISTENT]", nil, nil},
			{`SUBSCRIBE Work`, "OK", nil, nil},
			{`LSUB "" "W*"`, "OK", []string{`* LSUB (\HasNoChildren) "/" Work`}, nil},
			{`UNSUBSCRIBE Work`, "OK", nil, nil},
			{`LSUB "" "W*"`, "OK", nil, []string{"LSUB"}},
			{`LIST (SUBSCRIBED) "" "*"`, "OK", []string{`\Subscribed`}, []string{"Work"}},
			{`STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE)`, "OK", []string{"* STATUS INBOX (MESSAGES 3 UIDNEXT 4 UIDVALIDITY ", "UNSEEN 3 DELETED 0 SIZE "}, nil},
			{`STATUS Nowhere (MESSAGES)`, "NO [NONEXISTENT]", nil, nil},
			{`CREATE Entw&APw-rfe`, "OK", nil, nil},
			{`LIST "" Entw*`, "OK", []string{`"/" Entw&APw-rfe`}, nil},
		}},
		{"select and fetch", "imaps", true, []step{
			{"SELECT INBOX", "OK [READ-WRITE]", []string{"* FLAGS (", "* 3 EXISTS", "[UIDVALIDITY ", "[UIDNEXT 4]", "[PERMANENTFLAGS (", `\*)]`, "[UNSEEN 1]", "[HIGHESTMODSEQ "}, nil},
			{"FETCH 1 (UID FLAGS RFC822.SIZE INTERNALDATE)", "OK", []string{"* 1 FETCH (UID 1 FLAGS () RFC822.SIZE 167 INTERNALDATE \""}, nil},
			{"FETCH 1 ENVELOPE", "OK", []string{`ENVELOPE ("Mon, 2 Mar 2026 10:00:00 +0000" "one" (("Bob" NIL "bob" "example.org")) (("Bob" NIL "bob" "example.org")) (("Bob" NIL "bob" "example.org")) ((NIL NIL "ann" "example.org")) NIL NIL NIL "<1@example.org>")`}, nil},
			{"FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject)]", "OK", []string{"BODY[HEADER.FIELDS (SUBJECT)] {16}\r\nSubject: one\r\n\r\n"}, []string{`\Seen`}},
			{"FETCH 1 BODY.PEEK[TEXT]", "OK", []string{"BODY[TEXT] {34}\r\nHello Ann.\r\nThe word is giraffe.\r\n"}, nil},
			{"FETCH 1 BODY.PEEK[]<0.5>", "OK", []string{"BODY[]<0> {5}\r\nFrom:"}, nil},
			{"FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (From To Date Message-Id)]", "OK", []string{"{16}\r\nSubject: one\r\n\r\n"}, nil},
			{"FETCH 1 RFC822.HEADER", "OK", []string{"RFC822.HEADER {133}\r\nFrom: Bob"}, []string{`\Seen`}},
			{"FETCH 2 BODYSTRUCTURE", "OK", []string{`BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL "7BIT" 10 1 NIL NIL NIL NIL)("application" "octet-stream" NIL NIL NIL "BASE64" 4 NIL ("attachment" ("filename" "a.bin")) NIL NIL) "mixed" ("boundary" "XX") NIL NIL NIL)`}, nil},
			{"FETCH 2 BODY", "OK", []string{`BODY (("text" "plain" ("charset" "utf-8") NIL NIL "7BIT" 10 1)("application" "octet-stream" NIL NIL NIL "BASE64" 4) "mixed")`}, nil},
			{"FETCH 2 (BODY.PEEK[1] BODY.PEEK[2.MIME])", "OK", []string{"BODY[1] {10}\r\nfirst part", "BODY[2.MIME] {"}, nil},
			{"FETCH 2 BODY.PEEK[3]", "OK", []string{"BODY[3] NIL"}, nil},
			{"FETCH 3 BODYSTRUCTURE", "OK", []string{`("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 7 1 NIL NIL NIL NIL)`}, nil},
			{"FETCH 1 BODY[]", "OK", []string{"FLAGS (\\Seen)", "BODY[] {167}\r\nFrom: Bob"}, nil},
			{"FETCH 1 FLAGS", "OK", []string{"* 1 FETCH (FLAGS (\\Seen))"}, nil},
			{"UID FETCH 2:* (FLAGS)", "OK", []string{"* 2 FETCH (UID 2 FLAGS ())", "* 3 FETCH (UID 3 FLAGS ())"}, nil},
			{"UID FETCH 99 (FLAGS)", "OK", nil, []string{"FETCH"}},
			{"FETCH 2 RFC822.TEXT", "OK", []string{"RFC822.TEXT {", "FLAGS (\\Seen)"}, nil},
			{"FETCH 2 (BINARY.SIZE[2] BINARY.PEEK[2])", "OK", []string{"BINARY.SIZE[2] 3 BINARY[2] ~{3}\r\n\x00\x01\x02"}, nil},
			{"FETCH 2 BINARY.PEEK[1]<6.10>", "OK", []string{"BINARY[1]<6> {4}\r\npart"}, nil},
			{"FETCH 2 BINARY.PEEK[4]", "OK", []string{"BINARY[4] NIL"}, nil},
			{"FETCH 3 (BINARY[])", "OK", []string{"BINARY[] {", "FLAGS (\\Seen)"}, nil},
			{"FETCH 3 FAST", "OK", []string{"* 3 FETCH (FLAGS (\\Seen) INTERNALDATE"}, nil},
		}},
		{"store, search, copy, move, expunge", "imaps", true, []step{
			{"SELECT INBOX", "OK", nil, nil},
			{`STORE 1 +FLAGS (\Seen $Important)`, "OK", []string{`* 1 FETCH (FLAGS ($Important \Seen))`}, nil},
			{`STORE 2 +FLAGS.SILENT (\Flagged)`, "OK", nil, []string{"FETCH"}},
			{`UID STORE 3 FLAGS (\Deleted)`, "OK", []string{`* 3 FETCH (UID 3 FLAGS (\Deleted))`}, nil},
			{`STORE 1 -FLAGS ($Important)`, "OK", []string{`* 1 FETCH (FLAGS (\Seen))`}, nil},
			{`STORE 1 +FLAGS (\Bogus)`, "BAD", nil, nil},
			{"SEARCH SEEN", "OK", []string{"* SEARCH 1 2"}, nil},
			{"SEARCH UNSEEN", "OK", []string{"* SEARCH 3"}, []string{"SEARCH 2"}},
			{"SEARCH FLAGGED", "OK", []string{"* SEARCH 2"}, nil},
			{"SEARCH NOT DELETED", "OK", []string{"* SEARCH 1 2"}, nil},
			{"SEARCH OR FROM carol SUBJECT three", "OK", []string{"* SEARCH 2 3"}, nil},
			{"SEARCH BODY giraffe", "OK", []string{"* SEARCH 1"}, nil},
			{"SEARCH TEXT GIRAFFE", "OK", []string{"* SEARCH 1"}, nil},
			{"SEARCH HEADER Message-Id <1@", "OK", []string{"* SEARCH 1"}, nil},
			{"SEARCH LARGER 200", "OK", []string{"* SEARCH 2"}, nil},
			{"SEARCH SMALLER 100", "OK", []string{"* SEARCH 3"}, nil},
			{"SEARCH SENTBEFORE 3-Mar-2026", "OK", []string{"* SEARCH 1"}, nil},
			{"SEARCH SENTON 3-Mar-2026", "OK", []string{"* SEARCH 2"}, nil},
			{"SEARCH SINCE 1-Jan-2000", "OK", []string{"* SEARCH 1 2 3"}, nil},
			{"SEARCH BEFORE 1-Jan-2000", "OK", []string{"* SEARCH"}, []string{"SEARCH 1"}},
			{"UID SEARCH 2:3 UNDELETED", "OK", []string{"* SEARCH 2"}, nil},
			{"SEARCH 1,3", "OK", []string{"* SEARCH 1 3"}, nil},
			{"SEARCH RETURN (MIN MAX COUNT) ALL", "OK", []string{`* ESEARCH (TAG "t`, `MIN 1 MAX 3 COUNT 3`}, nil},
			{"SEARCH CHARSET X-UNKNOWN ALL", "NO [BADCHARSET", nil, nil},
			{"SEARCH RETURN (UPDATE) ALL", "OK", []string{"* ESEARCH (TAG "}, []string{" ALL "}},
			{"COPY 1:2 Archive", "OK [COPYUID ", nil, nil},
			{"COPY 1 Nowhere", "NO [TRYCREATE]", nil, nil},
			{"UID MOVE 2 Trash", "OK", []string{"[COPYUID ", "* 2 EXPUNGE"}, nil},
			{"FETCH 1:* UID", "OK", []string{"* 1 FETCH (UID 1)", "* 2 FETCH (UID 3)"}, nil},
			{"EXPUNGE", "OK", []string{"* 2 EXPUNGE"}, nil},
			{"STATUS Archive (MESSAGES)", "OK", []string{"MESSAGES 2"}, nil},
			{"STATUS Trash (MESSAGES)", "OK", []string{"MESSAGES 1"}, nil},
			{`STORE 1 +FLAGS (\Deleted)`, "OK", nil, nil},
			{"UID EXPUNGE 5", "OK", nil, []string{"EXPUNGE"}},
			{"UID EXPUNGE 1", "OK", []string{"* 1 EXPUNGE"}, nil},
			{"SELECT Archive", "OK", []string{"* 2 EXISTS"}, nil},
			{`STORE 1 +FLAGS (\Deleted)`, "OK", nil, nil},
			{"CLOSE", "OK", nil, nil},
			{"STATUS Archive (MESSAGES)", "OK", []string{"MESSAGES 1"}, nil},
			{"SELECT Archive", "OK", nil, nil},
			{"UNSELECT", "OK", nil, nil},
			{"FETCH 1 FLAGS", "BAD", nil, nil},
		}},
	}
	e := newEnv(t, Limits{}, 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.connect(t, tc.how, tc.login)
			for _, s := range tc.steps {
				u, st := c.cmd(s.cmd)
				all := strings.Join(u, "\n")
				if !strings.HasPrefix(st, s.status) {
					t.Fatalf("%s: status %q, want %q...\nuntagged:\n%s", s.cmd, st, s.status, all)
				}
				for _, w := range s.want {
					if !strings.Contains(all, w) {
						t.Errorf("%s: untagged lacks %q:\n%s", s.cmd, w, all)
					}
				}
				for _, w := range s.not {
					if strings.Contains(all, w) {
						t.Errorf("%s: untagged has %q:\n%s", s.cmd, w, all)
					}
				}
			}
		})
	}
}

func TestAppend(t *testing.T) {
	e := newEnv(t, Limits{Wire: imap.Limits{MaxAppend: 1000}}, 0)
	c := e.connect(t, "imaps", true)
	c.expect("SELECT INBOX", "OK")
	msg := "Subject: appended\r\n\r\nbody\r\n"
	c.send("a1 APPEND INBOX (\\Seen) {" + itoa(len(msg)) + "}\r\n")
	if l := c.readLine(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("continuation %q", l)
	}
	c.send(msg + "\r\n")
	u, st := c.collect("a1")
	if !strings.HasPrefix(st, "OK [APPENDUID ") || !strings.Contains(st, " 4]") {
		t.Errorf("APPEND: %q", st)
	}
	if !strings.Contains(strings.Join(u, "\n"), "* 4 EXISTS") {
		t.Errorf("no EXISTS after APPEND: %q", u)
	}
	got := c.expect("FETCH 4 (FLAGS BODY.PEEK[])", "OK")
	// Appended into the selected mailbox, the message is \Recent to
	// this session.
	if !strings.Contains(strings.Join(got, ""), `FLAGS (\Recent \Seen) BODY[] {`+itoa(len(msg))+"}\r\n"+msg) {
		t.Errorf("appended message: %q", got)
	}
	// Non-synchronizing literals (LITERAL+), over LITERAL-'s 4096 bytes
	// too.
	c.send("a2 APPEND Archive {5+}\r\nx: y\n\r\n")
	if _, st := c.collect("a2"); !strings.HasPrefix(st, "OK [APPENDUID") {
		t.Errorf("APPEND LITERAL+: %q", st)
	}
	c.send("a2b UID SEARCH SUBJECT {5000+}\r\n" + strings.Repeat("x", 5000) + "\r\n")
	if _, st := c.collect("a2b"); !strings.HasPrefix(st, "OK") {
		t.Errorf("SEARCH with a 5000-byte LITERAL+ string: %q", st)
	}
	// Too big: refused before the continuation.
	c.send("a3 APPEND INBOX {2000}\r\n")
	if _, st := c.collect("a3"); !strings.HasPrefix(st, "NO [TOOBIG]") {
		t.Errorf("APPEND too big: %q", st)
	}
	c.send("a4 APPEND Nowhere {3}\r\n")
	if l := c.readLine(); !strings.HasPrefix(l, "+") && !strings.HasPrefix(l, "a4 NO") {
		t.Fatalf("APPEND to nowhere: %q", l)
	} else if strings.HasPrefix(l, "+") {
		c.send("abc\r\n")
		if _, st := c.collect("a4"); !strings.HasPrefix(st, "NO [TRYCREATE]") {
			t.Errorf("APPEND to nowhere: %q", st)
		}
	}
	c.expect("NOOP", "OK")
	// Non-synchronizing literal over the APPEND limit: the connection ends.
	c.send("a5 APPEND INBOX {5000+}\r\n")
	if l := c.readLine(); !strings.HasPrefix(l, "a5 BAD [TOOBIG]") {
		t.Errorf("non-synchronizing literal too big: %q", l)
	}
	c.closed()
}

func TestIdleBetweenSessions(t *testing.T) {
	e := newEnv(t, Limits{PollInterval: 5 * time.Second}, 0)
	idler := e.connect(t, "imaps", true)
	other := e.connect(t, "starttls", true)
	idler.expect("SELECT INBOX", "OK")
	other.expect("SELECT INBOX", "OK")
	idler.send("i1 IDLE\r\n")
	if l := idler.readLine(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	// The poll interval is long: what arrives within 1 s came by the hub.
	start := time.Now()
	other.expect(`STORE 2 +FLAGS (\Flagged)`, "OK")
	idler.conn.SetReadDeadline(time.Now().Add(time.Second))
	if l := idler.readLine(); l != `* 2 FETCH (UID 2 FLAGS (\Flagged))` {
		t.Errorf("flag change while idling: %q", l)
	}
	other.expect(`STORE 3 +FLAGS (\Deleted)`, "OK")
	other.expect("EXPUNGE", "OK")
	idler.conn.SetReadDeadline(time.Now().Add(time.Second))
	lines := []string{idler.readLine()}
	if lines[0] != "* 3 EXPUNGE" {
		lines = append(lines, idler.readLine())
	}
	if !strings.Contains(strings.Join(lines, "\n"), "* 3 EXPUNGE") {
		t.Errorf("expunge while idling: %q", lines)
	}
	idler.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	other.send("a1 APPEND INBOX {8}\r\n")
	other.readLine()
	other.send("x: y\r\n\r\n\r\n")
	other.collect("a1")
	for range 5 {
		if l := idler.readLine(); l == "* 3 EXISTS" {
			break
		} else if !strings.HasPrefix(l, "* ") {
			t.Fatalf("while idling: %q", l)
		}
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("notifications took %v", d)
	}
	idler.send("DONE\r\n")
	if _, st := idler.collect("i1"); !strings.HasPrefix(st, "OK") {
		t.Errorf("DONE: %q", st)
	}
	// Changes from writers that do not ring the hub are polled.
	e2 := newEnv(t, Limits{PollInterval: 200 * time.Millisecond}, 0)
	c := e2.connect(t, "imaps", true)
	c.expect("SELECT INBOX", "OK")
	c.send("i2 IDLE\r\n")
	c.readLine()
	e2.deliver(t, "Subject: four\r\n\r\nx\r\n")
	c.conn.SetReadDeadline(time.Now().Add(time.Second))
	if l := c.readLine(); l != "* 4 EXISTS" {
		t.Errorf("polled delivery: %q", l)
	}
	c.send("DONE\r\n")
	c.collect("i2")
}

func TestPendingExpungeNotDuringFetch(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	a := e.connect(t, "imaps", true)
	b := e.connect(t, "imaps", true)
	a.expect("SELECT INBOX", "OK")
	b.expect("SELECT INBOX", "OK")
	b.expect(`STORE 1 +FLAGS (\Deleted)`, "OK")
	b.expect("EXPUNGE", "OK")
	u := a.expect("FETCH 1:* (FLAGS)", "OK")
	if all := strings.Join(u, "\n"); strings.Contains(all, "EXPUNGE") {
		t.Errorf("EXPUNGE sent during FETCH: %s", all)
	}
	u = a.expect("NOOP", "OK")
	if !strings.Contains(strings.Join(u, "\n"), "* 1 EXPUNGE") {
		t.Errorf("no EXPUNGE at NOOP: %q", u)
	}
	u = a.expect("FETCH 1:* UID", "OK")
	if all := strings.Join(u, "\n"); !strings.Contains(all, "* 1 FETCH (UID 2)") || strings.Contains(all, "UID 1)") {
		t.Errorf("after the expunge: %s", all)
	}
}

func TestLimits(t *testing.T) {
	t.Run("auth failures", func(t *testing.T) {
		e := newEnv(t, Limits{MaxAuthFailures: 2}, 0)
		c := e.connect(t, "imaps", false)
		c.expect("LOGIN ann@example.org wrong", "NO [AUTHENTICATIONFAILED]")
		c.expect("LOGIN ann@example.org wrong", "NO [AUTHENTICATIONFAILED]")
		c.closed()
	})
	t.Run("errors", func(t *testing.T) {
		e := newEnv(t, Limits{MaxErrors: 3}, 0)
		c := e.connect(t, "imaps", false)
		c.expect("FROB", "BAD")
		c.expect("FROB", "BAD")
		c.send("x FROB\r\n")
		if l := c.readLine(); !strings.HasPrefix(l, "x BAD") {
			t.Fatalf("third error: %q", l)
		}
		if l := c.readLine(); !strings.HasPrefix(l, "* BYE") {
			t.Fatalf("after the last error: %q", l)
		}
		c.closed()
	})
	t.Run("idle timeout", func(t *testing.T) {
		e := newEnv(t, Limits{IdleTimeout: 300 * time.Millisecond}, 0)
		c := e.connect(t, "imaps", false)
		c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if l := c.readLine(); !strings.HasPrefix(l, "* BYE") {
			t.Fatalf("idle timeout: %q", l)
		}
		c.closed()
	})
	t.Run("idle timeout floor", func(t *testing.T) {
		srv, err := New(Config{TLS: newEnvTLS(t), Limits: Limits{IdleTimeout: time.Minute}}, Deps{Store: newEnv(t, Limits{}, 0).st, Accounts: newEnv(t, Limits{}, 0).acc})
		if err != nil {
			t.Fatal(err)
		}
		if srv.cfg.Limits.IdleTimeout != 30*time.Minute {
			t.Errorf("idle timeout %v, want 30m", srv.cfg.Limits.IdleTimeout)
		}
	})
	t.Run("sessions", func(t *testing.T) {
		e := newEnv(t, Limits{MaxSessions: 1}, 0)
		e.connect(t, "imaps", false)
		c := dial(t, e.addrs[IMAP], false)
		if l := c.readLine(); !strings.HasPrefix(l, "* BYE") && !strings.HasPrefix(l, "* OK") {
			t.Fatalf("second session: %q", l)
		}
		// The limit is per listener: port 143 has its own.
		c2 := dial(t, e.addrs[IMAPS], false)
		if l := c2.readLine(); !strings.HasPrefix(l, "* BYE [UNAVAILABLE]") {
			t.Fatalf("second session on 993: %q", l)
		}
	})
	t.Run("connections per source", func(t *testing.T) {
		e := newEnv(t, Limits{}, 1)
		e.connect(t, "plain", false)
		c := dial(t, e.addrs[IMAP], false)
		if l := c.readLine(); !strings.HasPrefix(l, "* BYE [UNAVAILABLE]") {
			t.Fatalf("second connection: %q", l)
		}
	})
	t.Run("long line", func(t *testing.T) {
		e := newEnv(t, Limits{}, 0)
		c := e.connect(t, "imaps", false)
		c.send("a NOOP " + strings.Repeat("x", 70000) + "\r\n")
		var l string
		for l = c.readLine(); strings.HasPrefix(l, "* OK"); l = c.readLine() {
		}
		if !strings.Contains(l, "BAD") && !strings.HasPrefix(l, "* BYE") {
			t.Fatalf("long line: %q", l)
		}
	})
}

func TestStartTLSDiscardsPipelined(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	c := dial(t, e.addrs[IMAP], false)
	c.readLine()
	// The LOGIN after STARTTLS in the same packet must not run under TLS.
	c.send("a STARTTLS\r\nb LOGIN " + ann + " \"" + annPassword + "\"\r\n")
	if l := c.readLine(); !strings.HasPrefix(l, "a OK") {
		t.Fatalf("STARTTLS: %q", l)
	}
	c.upgrade()
	u, st := c.cmd("CAPABILITY")
	if !strings.HasPrefix(st, "OK") || !strings.Contains(strings.Join(u, ""), "AUTH=PLAIN") {
		t.Fatalf("after STARTTLS: %q %q", u, st)
	}
	c.expect("SELECT INBOX", "BAD [CLIENTBUG]")
}

func TestAuthenticateExchange(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	c := e.connect(t, "imaps", false)
	c.send("a AUTHENTICATE PLAIN\r\n")
	if l := c.readLine(); l != "+ " {
		t.Fatalf("challenge %q", l)
	}
	c.send("*\r\n")
	if _, st := c.collect("a"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("cancelled: %q", st)
	}
	c.send("b AUTHENTICATE PLAIN\r\n")
	c.readLine()
	c.send(plainIR(ann, annPassword) + "\r\n")
	if _, st := c.collect("b"); !strings.HasPrefix(st, "OK") {
		t.Errorf("AUTHENTICATE: %q", st)
	}
}

func TestShutdownSaysBye(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	c := e.connect(t, "imaps", true)
	c.expect("SELECT INBOX", "OK")
	c.send("i IDLE\r\n")
	c.readLine()
	if err := e.srvs[IMAPS].Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if l := c.readLine(); !strings.HasPrefix(l, "* BYE") {
		t.Errorf("shutdown: %q", l)
	}
	c.closed()
}
