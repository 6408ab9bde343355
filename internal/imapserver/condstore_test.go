package imapserver

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// cstep is one command of a CONDSTORE/QRESYNC script: the client that
// sends it (0 or 1), the tagged status prefix, the untagged responses that
// must appear in this order, and those that must not appear.
type cstep struct {
	c      int
	cmd    string
	status string
	want   []string
	not    []string
}

// The INBOX of newEnv holds UIDs 1, 2 and 3 with MODSEQs 1, 2 and 3;
// every flag change or expunge takes the next MODSEQ. "{uv}" in a command
// stands for the INBOX's UIDVALIDITY.
func TestCondStoreQResync(t *testing.T) {
	tests := []struct {
		name  string
		steps []cstep
	}{
		{"capabilities and ENABLE", []cstep{
			{0, "CAPABILITY", "OK", []string{" CONDSTORE", " QRESYNC"}, nil},
			{0, "ENABLE CONDSTORE", "OK", []string{"* ENABLED CONDSTORE"}, nil},
			{0, "ENABLE CONDSTORE QRESYNC", "OK", []string{"* ENABLED QRESYNC"}, []string{"CONDSTORE"}},
			{0, "ENABLE QRESYNC", "OK", []string{"* ENABLED"}, []string{"QRESYNC"}},
		}},
		{"ENABLE QRESYNC implies CONDSTORE", []cstep{
			{0, "ENABLE QRESYNC", "OK", []string{"* ENABLED QRESYNC"}, nil},
			{0, "SELECT INBOX", "OK", []string{"[HIGHESTMODSEQ 3]"}, nil},
			{0, "FETCH 2 (FLAGS)", "OK", []string{"* 2 FETCH (FLAGS () MODSEQ (2))"}, nil},
		}},
		{"SELECT (CONDSTORE) and STORE", []cstep{
			{0, "SELECT INBOX (CONDSTORE)", "OK [READ-WRITE]", []string{"* OK [HIGHESTMODSEQ 3]"}, nil},
			{0, "FETCH 1 (FLAGS)", "OK", []string{"* 1 FETCH (FLAGS () MODSEQ (1))"}, nil},
			{0, `STORE 1 +FLAGS (\Seen)`, "OK [HIGHESTMODSEQ 4]", []string{`* 1 FETCH (UID 1 FLAGS (\Seen) MODSEQ (4))`}, nil},
			{0, `STORE 1 +FLAGS (\Seen)`, "OK", []string{`* 1 FETCH (UID 1 FLAGS (\Seen) MODSEQ (4))`}, []string{"MODSEQ (5)"}},
			{0, "FETCH 2 (MODSEQ UID)", "OK", []string{"* 2 FETCH (MODSEQ (2) UID 2)"}, []string{"[HIGHESTMODSEQ"}},
			{0, "FETCH 2 BODY[]", "OK", []string{`* 2 FETCH (UID 2 FLAGS (\Seen) BODY[] {`, "MODSEQ (5))"}, nil},
		}},
		{"EXAMINE (CONDSTORE)", []cstep{
			{0, "EXAMINE INBOX (CONDSTORE)", "OK [READ-ONLY]", []string{"* OK [HIGHESTMODSEQ 3]"}, nil},
			{0, "FETCH 3 (FLAGS)", "OK", []string{"* 3 FETCH (FLAGS () MODSEQ (3))"}, nil},
		}},
		{"FETCH MODSEQ enables CONDSTORE", []cstep{
			{0, "SELECT INBOX", "OK", []string{"[HIGHESTMODSEQ 3]"}, nil},
			{0, "FETCH 1 FLAGS", "OK", []string{"* 1 FETCH (FLAGS ())"}, []string{"MODSEQ"}},
			{0, "FETCH 2 (MODSEQ)", "OK", []string{"* OK [HIGHESTMODSEQ 3]", "* 2 FETCH (MODSEQ (2))"}, nil},
			{0, "FETCH 1 FLAGS", "OK", []string{"* 1 FETCH (FLAGS () MODSEQ (1))"}, []string{"[HIGHESTMODSEQ"}},
		}},
		{"FETCH CHANGEDSINCE", []cstep{
			{0, "SELECT INBOX", "OK", nil, nil},
			{0, `STORE 2 +FLAGS (\Flagged)`, "OK", []string{`* 2 FETCH (FLAGS (\Flagged))`}, []string{"MODSEQ", "UID"}},
			{0, "FETCH 1:* (FLAGS) (CHANGEDSINCE 3)", "OK", []string{"* OK [HIGHESTMODSEQ 4]", `* 2 FETCH (FLAGS (\Flagged) MODSEQ (4))`}, []string{"* 1 FETCH", "* 3 FETCH"}},
			{0, "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)", "OK", []string{`* 2 FETCH (UID 2 FLAGS (\Flagged) MODSEQ (4))`, "* 3 FETCH (UID 3 FLAGS () MODSEQ (3))"}, []string{"* 1 FETCH"}},
			{0, "FETCH 1:* (UID) (CHANGEDSINCE 4)", "OK", nil, []string{"FETCH"}},
			{0, "FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)", "BAD", nil, nil},
		}},
		{"STORE UNCHANGEDSINCE", []cstep{
			{0, "SELECT INBOX (CONDSTORE)", "OK", nil, nil},
			{0, `STORE 1 +FLAGS (\Seen)`, "OK [HIGHESTMODSEQ 4]", nil, nil},
			{0, `STORE 1:3 (UNCHANGEDSINCE 3) +FLAGS (\Flagged)`, "OK [MODIFIED 1]",
				[]string{`* 2 FETCH (UID 2 FLAGS (\Flagged) MODSEQ (5))`, `* 3 FETCH (UID 3 FLAGS (\Flagged) MODSEQ (6))`}, []string{"* 1 FETCH"}},
			{0, `UID STORE 1:3 (UNCHANGEDSINCE 6) -FLAGS.SILENT (\Flagged)`, "OK [HIGHESTMODSEQ 8]",
				[]string{"* 2 FETCH (UID 2 MODSEQ (7))", "* 3 FETCH (UID 3 MODSEQ (8))"}, []string{"FLAGS", "* 1 FETCH"}},
			{0, `STORE 2 (UNCHANGEDSINCE 0) +FLAGS (\Seen)`, "OK [MODIFIED 2]", nil, []string{"FETCH"}},
			{0, `UID STORE 2:3 (UNCHANGEDSINCE 7) +FLAGS (\Seen)`, "OK [MODIFIED 3]", []string{`* 2 FETCH (UID 2 FLAGS (\Seen) MODSEQ (9))`}, []string{"* 3 FETCH"}},
			{0, `STORE 3 +FLAGS.SILENT (\Answered)`, "OK [HIGHESTMODSEQ 10]", []string{"* 3 FETCH (UID 3 MODSEQ (10))"}, []string{"FLAGS"}},
			{0, "FETCH 1:3 (FLAGS)", "OK", []string{`* 1 FETCH (FLAGS (\Seen) MODSEQ (4))`, `* 2 FETCH (FLAGS (\Seen) MODSEQ (9))`, `* 3 FETCH (FLAGS (\Answered) MODSEQ (10))`}, nil},
		}},
		{"STORE UNCHANGEDSINCE enables CONDSTORE", []cstep{
			{0, "SELECT INBOX", "OK", nil, nil},
			{0, `STORE 1 (UNCHANGEDSINCE 10) +FLAGS (\Seen)`, "OK [HIGHESTMODSEQ 4]",
				[]string{"* OK [HIGHESTMODSEQ 3]", `* 1 FETCH (UID 1 FLAGS (\Seen) MODSEQ (4))`}, nil},
		}},
		{"SEARCH MODSEQ", []cstep{
			{0, "SELECT INBOX", "OK", nil, nil},
			{0, `STORE 2 +FLAGS (\Seen)`, "OK", nil, nil},
			{0, "SEARCH MODSEQ 3", "OK", []string{"* OK [HIGHESTMODSEQ 4]", "* SEARCH 2 3 (MODSEQ 4)"}, nil},
			{0, "SEARCH MODSEQ 5", "OK", []string{"* SEARCH"}, []string{"(MODSEQ", "SEARCH 1"}},
			{0, "SEARCH OR MODSEQ 4 SUBJECT one", "OK", []string{"* SEARCH 1 2 (MODSEQ 4)"}, nil},
			{0, `UID SEARCH RETURN (ALL) MODSEQ "/flags/\\Seen" all 2`, "OK", []string{"UID ALL 2:3 MODSEQ 4"}, nil},
			{0, "SEARCH RETURN (MIN) MODSEQ 1", "OK", []string{"MIN 1 MODSEQ 1"}, nil},
			{0, "SEARCH RETURN (MAX) MODSEQ 1", "OK", []string{"MAX 3 MODSEQ 3"}, nil},
			{0, "SEARCH RETURN (COUNT) MODSEQ 9", "OK", []string{"COUNT 0"}, []string{"MODSEQ"}},
			{0, "SEARCH SEEN", "OK", []string{"* SEARCH 2"}, []string{"MODSEQ"}},
		}},
		{"STATUS HIGHESTMODSEQ", []cstep{
			{0, "STATUS INBOX (MESSAGES HIGHESTMODSEQ)", "OK", []string{"* STATUS INBOX (MESSAGES 3 HIGHESTMODSEQ 3)"}, nil},
			{0, "SELECT INBOX", "OK", []string{"[HIGHESTMODSEQ 3]"}, nil},
			{0, "FETCH 3 FLAGS", "OK", []string{"* 3 FETCH (FLAGS () MODSEQ (3))"}, nil},
		}},
		{"unsolicited flag changes carry MODSEQ", []cstep{
			{0, "SELECT INBOX (CONDSTORE)", "OK", nil, nil},
			{1, "SELECT INBOX", "OK", nil, nil},
			{1, `STORE 3 +FLAGS (\Deleted)`, "OK", []string{`* 3 FETCH (FLAGS (\Deleted))`}, []string{"MODSEQ"}},
			{0, "NOOP", "OK", []string{`* 3 FETCH (UID 3 FLAGS (\Deleted) MODSEQ (4))`}, nil},
			{1, "FETCH 1 BODY[]", "OK", []string{`FLAGS (\Seen)`}, []string{"MODSEQ"}},
			{0, "NOOP", "OK", []string{`* 1 FETCH (UID 1 FLAGS (\Seen) MODSEQ (5))`}, nil},
		}},
		{"CLOSED on reselect", []cstep{
			{0, "SELECT INBOX", "OK", nil, []string{"CLOSED"}},
			{0, "EXAMINE Archive", "OK", []string{"* OK [CLOSED]", "* 0 EXISTS"}, nil},
			{0, "SELECT INBOX", "OK", []string{"* OK [CLOSED]", "* 3 EXISTS"}, nil},
			{0, "UNSELECT", "OK", nil, nil},
			{0, "SELECT INBOX", "OK", nil, []string{"CLOSED"}},
		}},
		{"VANISHED instead of EXPUNGE", []cstep{
			{0, "ENABLE QRESYNC", "OK", nil, nil},
			{0, "SELECT INBOX", "OK", nil, nil},
			{0, `STORE 2 +FLAGS.SILENT (\Deleted)`, "OK [HIGHESTMODSEQ 4]", nil, nil},
			{0, "EXPUNGE", "OK [HIGHESTMODSEQ 5]", []string{"* VANISHED 2"}, []string{"EXPUNGE"}},
			{0, "FETCH 2 (UID)", "OK", []string{"* 2 FETCH (UID 3)"}, nil},
			{0, "EXPUNGE", "OK", nil, []string{"VANISHED", "HIGHESTMODSEQ"}},
			{0, `UID STORE 3 +FLAGS.SILENT (\Deleted)`, "OK", nil, nil},
			{0, "UID EXPUNGE 3", "OK [HIGHESTMODSEQ 7]", []string{"* VANISHED 3"}, []string{"EXPUNGE"}},
			{0, "UID MOVE 1 Archive", "OK [HIGHESTMODSEQ 8]", []string{"[COPYUID ", "* VANISHED 1"}, []string{"EXPUNGE"}},
			{0, "FETCH 1:* (UID)", "OK", nil, []string{"FETCH"}},
		}},
		{"VANISHED waits like EXPUNGE", []cstep{
			{0, "ENABLE QRESYNC", "OK", nil, nil},
			{0, "SELECT INBOX", "OK", nil, nil},
			{1, "SELECT INBOX", "OK", nil, nil},
			{1, `STORE 1:2 +FLAGS.SILENT (\Deleted)`, "OK", nil, nil},
			{1, "EXPUNGE", "OK", []string{"* 2 EXPUNGE", "* 1 EXPUNGE"}, nil},
			// Sequence numbers hold until the client is told.
			{0, "FETCH 3 (UID)", "OK", []string{"* 3 FETCH (UID 3)"}, []string{"VANISHED", "EXPUNGE"}},
			{0, "SEARCH ALL", "OK", []string{"* SEARCH 3"}, []string{"VANISHED"}},
			// The highest MODSEQ stays below the untold expunges.
			{0, `STORE 3 +FLAGS (\Seen)`, "OK [HIGHESTMODSEQ 5]", []string{`* 3 FETCH (UID 3 FLAGS (\Seen) MODSEQ (8))`}, []string{"VANISHED"}},
			// UID FETCH may report them: VANISHED (EARLIER) leaves them
			// out, the end of the command says VANISHED.
			{0, "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 4 VANISHED)", "OK",
				[]string{`* 3 FETCH (UID 3 FLAGS (\Seen) MODSEQ (8))`, "* VANISHED 1:2"}, []string{"EARLIER"}},
			{0, "FETCH 1 (UID)", "OK", []string{"* 1 FETCH (UID 3)"}, nil},
			{0, "NOOP", "OK", nil, []string{"VANISHED"}},
		}},
		{"UID FETCH VANISHED", []cstep{
			{0, "SELECT INBOX", "OK", nil, nil},
			{0, "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)", "BAD", nil, nil},
			{0, "ENABLE QRESYNC", "OK", nil, nil},
			{0, `STORE 1 +FLAGS.SILENT (\Deleted)`, "OK", nil, nil},
			{0, "EXPUNGE", "OK [HIGHESTMODSEQ 5]", []string{"* VANISHED 1"}, nil},
			{0, `STORE 2 +FLAGS (\Seen)`, "OK [HIGHESTMODSEQ 6]", nil, nil},
			{0, "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 3 VANISHED)", "OK",
				[]string{"* VANISHED (EARLIER) 1", `* 2 FETCH (UID 3 FLAGS (\Seen) MODSEQ (6))`}, []string{"UID 2 "}},
			{0, "UID FETCH 2:* (FLAGS) (CHANGEDSINCE 3 VANISHED)", "OK", []string{"* 2 FETCH (UID 3"}, []string{"VANISHED"}},
			{0, "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 5 VANISHED)", "OK", []string{"* 2 FETCH (UID 3"}, []string{"VANISHED"}},
		}},
		{"SELECT (QRESYNC)", []cstep{
			{1, "SELECT INBOX", "OK", nil, nil},
			{1, `STORE 2 +FLAGS.SILENT (\Deleted)`, "OK", nil, nil},
			{1, "EXPUNGE", "OK", nil, nil},
			{1, `STORE 2 +FLAGS.SILENT (\Seen)`, "OK", nil, nil},
			{0, "SELECT INBOX (QRESYNC ({uv} 3))", "BAD", nil, nil},
			{0, "ENABLE QRESYNC", "OK", nil, nil},
			{0, "SELECT INBOX (QRESYNC ({uv} 3))", "OK [READ-WRITE]",
				[]string{"* 2 EXISTS", "[HIGHESTMODSEQ 6]", "* VANISHED (EARLIER) 2", `* 2 FETCH (UID 3 FLAGS (\Seen) MODSEQ (6))`}, []string{"UID 1 "}},
			{0, "SELECT INBOX (QRESYNC ({uv} 3 1,3))", "OK",
				[]string{"* OK [CLOSED]", `* 2 FETCH (UID 3 FLAGS (\Seen) MODSEQ (6))`}, []string{"VANISHED"}},
			{0, "EXAMINE INBOX (QRESYNC ({uv} 1 1:2))", "OK [READ-ONLY]", []string{"* VANISHED (EARLIER) 2"}, []string{"FETCH"}},
			{0, "SELECT INBOX (QRESYNC ({uv} 6 1:3 (1,2 1,3)))", "OK", nil, []string{"VANISHED", "FETCH"}},
			{0, "SELECT INBOX (QRESYNC ({uv} 1 1:3 (1:2 1)))", "BAD", nil, nil},
			{0, "SELECT INBOX (QRESYNC (1 1))", "OK", []string{"* 2 EXISTS"}, []string{"VANISHED", "FETCH"}},
			{0, "FETCH 1 (FLAGS)", "OK", []string{"* 1 FETCH (FLAGS () MODSEQ (1))"}, nil},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Limits{}, 0)
			uv := strconv.FormatUint(uint64(e.inbox.UIDValidity), 10)
			if uv == "1" {
				t.Fatal("the INBOX's UIDVALIDITY collides with the wrong one the test sends")
			}
			cs := []*client{e.connect(t, "imaps", true), e.connect(t, "imaps", true)}
			for _, s := range tc.steps {
				line := strings.ReplaceAll(s.cmd, "{uv}", uv)
				u, st := cs[s.c].cmd(line)
				all := strings.Join(u, "\n")
				if !strings.HasPrefix(st, s.status) {
					t.Fatalf("%d: %s: status %q, want %q...\nuntagged:\n%s", s.c, line, st, s.status, all)
				}
				rest := all
				for _, w := range s.want {
					i := strings.Index(rest, w)
					if i < 0 {
						t.Errorf("%d: %s: untagged lacks %q (in this order):\n%s", s.c, line, w, all)
						break
					}
					rest = rest[i+len(w):]
				}
				for _, w := range s.not {
					if strings.Contains(all, w) {
						t.Errorf("%d: %s: untagged has %q:\n%s", s.c, line, w, all)
					}
				}
			}
		})
	}
}

// TestIdleQResync checks what a QRESYNC client hears while idling: flag
// changes with MODSEQ, then VANISHED rather than EXPUNGE.
func TestIdleQResync(t *testing.T) {
	e := newEnv(t, Limits{PollInterval: 5 * time.Second}, 0)
	idler := e.connect(t, "imaps", true)
	other := e.connect(t, "imaps", true)
	idler.expect("ENABLE QRESYNC", "OK")
	idler.expect("SELECT INBOX", "OK")
	other.expect("SELECT INBOX", "OK")
	idler.send("i1 IDLE\r\n")
	if l := idler.readLine(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	other.expect(`STORE 2 +FLAGS (\Deleted)`, "OK")
	idler.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if l := idler.readLine(); l != `* 2 FETCH (UID 2 FLAGS (\Deleted) MODSEQ (4))` {
		t.Errorf("flag change while idling: %q", l)
	}
	other.expect("EXPUNGE", "OK")
	if l := idler.readLine(); l != "* VANISHED 2" {
		t.Errorf("expunge while idling: %q", l)
	}
	idler.send("DONE\r\n")
	if _, st := idler.collect("i1"); !strings.HasPrefix(st, "OK") {
		t.Errorf("DONE: %q", st)
	}
	idler.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	u := idler.expect("FETCH 2 (UID)", "OK")
	if len(u) != 1 || u[0] != "* 2 FETCH (UID 3)" {
		t.Errorf("after VANISHED: %q", u)
	}
}
