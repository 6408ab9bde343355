package imapserver

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// runScript runs steps on fresh sessions of e. In a command, "{inbox}"
// stands for the INBOX's MAILBOXID, "{today}" for today's date and
// "{m1}" for the EMAILID of UID 1.
func runScript(t *testing.T, e *env, steps []cstep) {
	t.Helper()
	repl := strings.NewReplacer(
		"{inbox}", "F"+strconv.FormatInt(e.inbox.ID, 10),
		"{today}", time.Now().UTC().Format("2-Jan-2006"),
		"{m1}", "M"+strconv.FormatInt(firstMessageID(t, e), 10),
	)
	cs := []*client{e.connect(t, "imaps", true), e.connect(t, "imaps", true)}
	for _, s := range steps {
		line := repl.Replace(s.cmd)
		u, st := cs[s.c].cmd(line)
		all := strings.Join(u, "\n")
		if !strings.HasPrefix(st, repl.Replace(s.status)) {
			t.Fatalf("%d: %s: status %q, want %q...\nuntagged:\n%s", s.c, line, st, s.status, all)
		}
		rest := all
		for _, w := range s.want {
			w = repl.Replace(w)
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%d: %s: untagged lacks %q (in this order):\n%s", s.c, line, w, all)
				break
			}
			rest = rest[i+len(w):]
		}
		for _, w := range s.not {
			if strings.Contains(all, repl.Replace(w)) {
				t.Errorf("%d: %s: untagged has %q:\n%s", s.c, line, w, all)
			}
		}
	}
}

func firstMessageID(t *testing.T, e *env) int64 {
	t.Helper()
	ms, err := e.st.ListMessages(t.Context(), e.inbox.ID, 1, 1)
	if err != nil || len(ms) == 0 {
		t.Fatalf("listing the INBOX: %v", err)
	}
	return ms[0].ID
}

// binaryMsg has a binary part with NUL, one in an encoding Sealpost
// cannot decode and one in quoted-printable.
const binaryMsg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
	"--b\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00bin\r\n" +
	"--b\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n" +
	"--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nqp=3Dyes=\r\n!\r\n--b--\r\n"

// The INBOX of newEnv holds UIDs 1, 2 and 3; the account also has the
// special-use mailboxes, all subscribed.
func TestExtensions(t *testing.T) {
	tests := []struct {
		name  string
		steps []cstep
	}{
		{"capabilities", []cstep{
			{0, "CAPABILITY", "OK", []string{" LIST-STATUS", " SEARCHRES", " SAVEDATE", " OBJECTID", " PREVIEW", " BINARY", " QUOTA", " QUOTA=RES-STORAGE"}, nil},
		}},
		{"LIST-STATUS", []cstep{
			{0, `LIST "" INBOX RETURN (STATUS (MESSAGES UIDNEXT UNSEEN SIZE))`, "OK",
				[]string{`* LIST (\HasNoChildren) "/" INBOX`, "* STATUS INBOX (MESSAGES 3 UIDNEXT 4 UNSEEN 3 SIZE "}, nil},
			{0, `LIST "" "*" RETURN (CHILDREN STATUS (MESSAGES))`, "OK",
				[]string{`* LIST (\HasNoChildren) "/" INBOX`, "* STATUS INBOX (MESSAGES 3)", `\Sent) "/" Sent`, "* STATUS Sent (MESSAGES 0)"}, nil},
			{0, `LIST "" "Nothing*" RETURN (STATUS (MESSAGES))`, "OK", nil, []string{"STATUS"}},
			{0, `LIST "" INBOX RETURN (STATUS (HIGHESTMODSEQ MAILBOXID APPENDLIMIT))`, "OK",
				[]string{"* STATUS INBOX (HIGHESTMODSEQ 3 MAILBOXID ({inbox}) APPENDLIMIT "}, nil},
			{0, `LIST "" INBOX RETURN (STATUS (BOGUS))`, "BAD", nil, nil},
			{0, `LSUB "" "*"`, "OK", []string{`* LSUB `}, []string{"STATUS"}},
		}},
		{"LIST-EXTENDED selection and return options", []cstep{
			{0, "CREATE Projects/Alpha", "OK [MAILBOXID (F", nil, nil},
			{0, "SUBSCRIBE Projects/Alpha", "OK", nil, nil},
			{0, `LIST (SUBSCRIBED) "" "Projects*"`, "OK", []string{`* LIST (\HasNoChildren \Subscribed) "/" Projects/Alpha`}, []string{`"/" Projects` + "\n"}},
			{0, `LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"`, "OK", []string{`* LIST (\HasChildren) "/" Projects ("CHILDINFO" ("SUBSCRIBED"))`}, []string{"Alpha"}},
			{0, `LIST (REMOTE) "" "Projects" RETURN (CHILDREN SUBSCRIBED)`, "OK", []string{`* LIST (\HasChildren) "/" Projects`}, nil},
			{0, `LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE)`, "OK", []string{`\Sent) "/" Sent`}, []string{"INBOX", "Projects"}},
			{0, `LIST (RECURSIVEMATCH) "" "*"`, "BAD", nil, nil},
		}},
		{"subscriptions outlive mailboxes", []cstep{
			{0, "CREATE Lists/Go", "OK", nil, nil},
			{0, "SUBSCRIBE Lists/Go", "OK", nil, nil},
			{0, `LSUB "" "Lists/%"`, "OK", []string{`* LSUB (\HasNoChildren) "/" Lists/Go`}, nil},
			{0, `LSUB "" "%"`, "OK", []string{`* LSUB (\Noselect) "/" Lists`}, []string{"Lists/Go"}},
			{0, `LSUB "" "*"`, "OK", []string{`"/" Lists/Go`}, []string{`"/" Lists` + "\n"}},
			{0, "DELETE Lists/Go", "OK", nil, nil},
			{0, `LIST (SUBSCRIBED) "" "Lists/*"`, "OK", []string{`* LIST (\NonExistent \Subscribed) "/" Lists/Go`}, nil},
			{0, `LIST "" "Lists/*"`, "OK", nil, []string{"Lists/Go"}},
			{1, "CREATE Lists/Go", "OK", nil, nil},
			{1, `LIST "" "Lists/*" RETURN (SUBSCRIBED)`, "OK", []string{`* LIST (\HasNoChildren \Subscribed) "/" Lists/Go`}, nil},
			{1, "UNSUBSCRIBE Lists/Go", "OK", nil, nil},
			{1, "SUBSCRIBE Lists/Future", "OK", nil, nil},
			{1, "SUBSCRIBE Lists//Bad", "NO", nil, nil},
			{1, `LSUB "" "Lists/*"`, "OK", []string{`* LSUB (\Noselect) "/" Lists/Future`}, []string{"Lists/Go"}},
			{1, "UNSUBSCRIBE Lists/Future", "OK", nil, nil},
			{1, `LSUB "" "*"`, "OK", nil, []string{"Lists"}},
		}},
		{"SELECT sends LIST and MAILBOXID", []cstep{
			{0, "SELECT INBOX", "OK", []string{"* OK [MAILBOXID ({inbox})]"}, []string{"* LIST"}},
			{1, "ENABLE IMAP4rev2", "OK", nil, nil},
			{1, "SELECT INBOX", "OK", []string{"* OK [MAILBOXID ({inbox})]", `* LIST () "/" INBOX`}, nil},
			{0, "STATUS INBOX (MAILBOXID MESSAGES)", "OK", []string{"* STATUS INBOX (MAILBOXID ({inbox}) MESSAGES 3)"}, nil},
		}},
		{"SEARCHRES", []cstep{
			{0, "SELECT INBOX", "OK", nil, nil},
			{0, "FETCH $ (UID)", "OK", nil, []string{"FETCH"}},
			{0, "SEARCH RETURN (SAVE) 2:3", "OK", nil, []string{"SEARCH"}},
			{0, "FETCH $ (UID)", "OK", []string{"* 2 FETCH (UID 2)", "* 3 FETCH (UID 3)"}, []string{"* 1 FETCH"}},
			{0, "UID FETCH $ (FLAGS)", "OK", []string{"* 2 FETCH (UID 2 FLAGS ())", "* 3 FETCH (UID 3 FLAGS ())"}, nil},
			{0, "SEARCH $ SUBJECT three", "OK", []string{"* SEARCH 3"}, nil},
			{0, "UID SEARCH NOT $", "OK", []string{"* SEARCH 1"}, nil},
			{0, `STORE $ +FLAGS (\Deleted)`, "OK", []string{`* 2 FETCH (FLAGS (\Deleted))`, `* 3 FETCH (FLAGS (\Deleted))`}, nil},
			{0, "SEARCH RETURN (SAVE MIN COUNT) 1:2", "OK", []string{"* ESEARCH (TAG ", " MIN 1 COUNT 2"}, []string{"SAVE"}},
			{0, "UID SEARCH $", "OK", []string{"* SEARCH 1 2"}, nil},
			{0, "SEARCH RETURN (SAVE MAX) ALL", "OK", []string{" MAX 3"}, nil},
			{0, "FETCH $ (UID)", "OK", []string{"* 3 FETCH (UID 3)"}, []string{"* 1 FETCH", "* 2 FETCH"}},
			{0, `STORE 2 -FLAGS (\Deleted)`, "OK", nil, nil},
			{0, "EXPUNGE", "OK", []string{"* 3 EXPUNGE"}, []string{"* 2 EXPUNGE"}},
			{0, "FETCH $ (UID)", "OK", nil, []string{"FETCH"}},
			{0, "SEARCH RETURN (SAVE) UID 1", "OK", nil, nil},
			{0, "COPY $ Trash", "OK [COPYUID", nil, nil},
			{0, "SEARCH RETURN (SAVE) CHARSET KOI8-Q ALL", "NO [BADCHARSET", nil, nil},
			{0, "FETCH $ (UID)", "OK", nil, []string{"FETCH"}},
			{0, "UNSELECT", "OK", nil, nil},
			{0, "SELECT INBOX", "OK", nil, nil},
			{0, "FETCH $ (UID)", "OK", nil, []string{"FETCH"}},
		}},
		{"SAVEDATE", []cstep{
			{0, "SELECT INBOX", "OK", nil, nil},
			{0, "FETCH 1 (SAVEDATE)", "OK", []string{`* 1 FETCH (SAVEDATE "`}, []string{"NIL"}},
			{0, "SEARCH SAVEDON {today}", "OK", []string{"* SEARCH 1 2 3"}, nil},
			{0, "SEARCH SAVEDBEFORE {today}", "OK", []string{"* SEARCH"}, []string{"SEARCH 1"}},
			{0, "SEARCH SAVEDSINCE 1-Jan-2000 SAVEDATESUPPORTED", "OK", []string{"* SEARCH 1 2 3"}, nil},
		}},
		{"OBJECTID", []cstep{
			{0, "SELECT INBOX", "OK", nil, nil},
			{0, "FETCH 1 (EMAILID THREADID)", "OK", []string{"* 1 FETCH (EMAILID ({m1}) THREADID NIL)"}, nil},
			{0, "SEARCH EMAILID {m1}", "OK", []string{"* SEARCH 1"}, []string{"SEARCH 1 "}},
			{0, "SEARCH THREADID T1", "OK", []string{"* SEARCH"}, []string{"SEARCH 1"}},
			{0, "CREATE Objects", "OK [MAILBOXID (F", nil, nil},
		}},
		{"BINARY", []cstep{
			{0, "APPEND INBOX ~{" + strconv.Itoa(len(binaryMsg)) + "+}\r\n" + binaryMsg, "OK [APPENDUID", nil, nil},
			{0, "SELECT INBOX", "OK", nil, nil},
			{0, "FETCH 4 (BINARY.SIZE[1] BINARY.PEEK[1])", "OK", []string{"BINARY.SIZE[1] 4 BINARY[1] ~{4}\r\n\x00bin"}, nil},
			{0, "FETCH 4 BODY.PEEK[1]", "OK", []string{"BODY[1] {8}\r\nAGJpbg=="}, nil},
			{0, "FETCH 4 (BINARY.SIZE[3] BINARY.PEEK[3])", "OK", []string{"BINARY.SIZE[3] 7 BINARY[3] {7}\r\nqp=yes!"}, nil},
			{0, "FETCH 4 BINARY.PEEK[3]<3.2>", "OK", []string{"BINARY[3]<3> {2}\r\nye"}, nil},
			{0, "FETCH 4 BINARY.PEEK[2]", "NO [UNKNOWN-CTE]", nil, nil},
			{0, "FETCH 4 BINARY.SIZE[2]", "NO [UNKNOWN-CTE]", nil, nil},
			{0, "FETCH 4 BINARY[2]", "NO [UNKNOWN-CTE]", nil, []string{"FETCH"}},
			{0, "FETCH 4 BINARY.PEEK[9]", "OK", []string{"BINARY[9] NIL"}, nil},
			{0, "FETCH 4 FLAGS", "OK", []string{`FLAGS (\Recent)`}, nil},
			{0, "FETCH 4 BINARY[3]", "OK", []string{`FLAGS (\Recent \Seen)`}, nil},
		}},
		{"PREVIEW", []cstep{
			{0, "SELECT INBOX", "OK", nil, nil},
			{0, "FETCH 1 (PREVIEW)", "OK", []string{`* 1 FETCH (PREVIEW "Hello Ann. The word is giraffe.")`}, nil},
			{0, "FETCH 2 (PREVIEW (LAZY))", "OK", []string{`* 2 FETCH (PREVIEW "first part")`}, nil},
			{0, "FETCH 3 (UID PREVIEW)", "OK", []string{`* 3 FETCH (UID 3 PREVIEW "short")`}, nil},
			{0, "FETCH 1 (PREVIEW (EAGER))", "BAD", nil, nil},
		}},
		{"Recent goes to one session", []cstep{
			{1, "STATUS INBOX (RECENT)", "OK", []string{"* STATUS INBOX (RECENT 0)"}, nil},
			{1, "APPEND INBOX {6+}\r\nx: y\r\n", "OK", nil, nil},
			{1, "APPEND INBOX {6+}\r\nx: z\r\n", "OK", nil, nil},
			{1, "STATUS INBOX (RECENT MESSAGES)", "OK", []string{"* STATUS INBOX (RECENT 2 MESSAGES 5)"}, nil},
			// EXAMINE shows them without taking them.
			{1, "EXAMINE INBOX", "OK", []string{"* 5 EXISTS", "* 2 RECENT"}, nil},
			{1, "SEARCH RECENT", "OK", []string{"* SEARCH 4 5"}, nil},
			{0, "SELECT INBOX", "OK", []string{"* 5 EXISTS", "* 2 RECENT"}, nil},
			{0, "FETCH 3:5 (FLAGS)", "OK", []string{"* 3 FETCH (FLAGS ())", `* 4 FETCH (FLAGS (\Recent))`}, nil},
			{0, "SEARCH NEW", "OK", []string{"* SEARCH 4 5"}, nil},
			{0, "SEARCH OLD", "OK", []string{"* SEARCH 1 2 3"}, nil},
			{0, `STORE 4 +FLAGS (\Seen)`, "OK", []string{`* 4 FETCH (FLAGS (\Recent \Seen))`}, nil},
			{0, "SEARCH NEW", "OK", []string{"* SEARCH 5"}, nil},
			{1, "SELECT INBOX", "OK", []string{"* 5 EXISTS", "* 0 RECENT"}, nil},
			{1, "STATUS INBOX (RECENT)", "OK", []string{"* STATUS INBOX (RECENT 0)"}, nil},
			// A message arriving while both have it selected goes to the
			// first that looks.
			{1, "APPEND INBOX {6+}\r\nx: w\r\n", "OK", []string{"* 6 EXISTS", "* 1 RECENT"}, nil},
			{0, "NOOP", "OK", []string{"* 6 EXISTS", "* 2 RECENT"}, nil},
			{0, "FETCH 6 (FLAGS)", "OK", []string{"* 6 FETCH (FLAGS ())"}, nil},
			{1, "FETCH 6 (FLAGS)", "OK", []string{`* 6 FETCH (FLAGS (\Recent))`}, nil},
			// IMAP4rev2 has no RECENT response.
			{0, "UNSELECT", "OK", nil, nil},
			{0, "ENABLE IMAP4rev2", "OK", nil, nil},
			{0, "SELECT INBOX", "OK", nil, []string{"RECENT"}},
		}},
		{"MULTIAPPEND", []cstep{
			{0, "CAPABILITY", "OK", []string{" MULTIAPPEND"}, nil},
			{0, "APPEND INBOX {6+}\r\nx: 1\r\n (\\Seen) {6+}\r\nx: 2\r\n", "OK [APPENDUID ", nil, nil},
			{0, "STATUS INBOX (MESSAGES UIDNEXT)", "OK", []string{"* STATUS INBOX (MESSAGES 5 UIDNEXT 6)"}, nil},
			// The second message fails: the first goes too.
			{0, "APPEND INBOX {6+}\r\nx: 3\r\n (\\Bogus) {6+}\r\nx: 4\r\n", "BAD", nil, nil},
			{0, "STATUS INBOX (MESSAGES)", "OK", []string{"* STATUS INBOX (MESSAGES 5)"}, nil},
			{1, "SELECT INBOX", "OK", []string{"* 5 EXISTS"}, nil},
		}},
		{"PARTIAL", []cstep{
			{0, "CAPABILITY", "OK", []string{" CONTEXT=SEARCH", " CONTEXT=SORT", " PARTIAL"}, nil},
			{0, "SELECT INBOX", "OK", nil, nil},
			{0, "SEARCH RETURN (PARTIAL 2:5) ALL", "OK", []string{" PARTIAL (2:5 2:3)"}, nil},
			{0, "SEARCH RETURN (PARTIAL 3:1 COUNT) ALL", "OK", []string{" PARTIAL (1:3 1:3) COUNT 3"}, nil},
			{0, "UID SEARCH RETURN (PARTIAL -1:-2) ALL", "OK", []string{" UID PARTIAL (-1:-2 2:3)"}, nil},
			{0, "SEARCH RETURN (PARTIAL -5:-4) ALL", "OK", []string{" PARTIAL (-4:-5 NIL)"}, nil},
			{0, "SEARCH RETURN (PARTIAL 4:9) ALL", "OK", []string{" PARTIAL (4:9 NIL)"}, nil},
			{0, "SORT RETURN (PARTIAL 1:2) (REVERSE ARRIVAL) UTF-8 ALL", "OK", []string{" PARTIAL (1:2 3,2)"}, nil},
			{0, "SEARCH RETURN (PARTIAL 1:2 ALL) ALL", "BAD", nil, nil},
			{0, "SEARCH RETURN (PARTIAL 0:2) ALL", "BAD", nil, nil},
			{0, "SEARCH RETURN (PARTIAL 1:*) ALL", "BAD", nil, nil},
		}},
		{"UPDATE", []cstep{
			{0, "SELECT INBOX", "OK", nil, nil},
			{0, "SEARCH RETURN (UPDATE ALL) FLAGGED", "OK", []string{"* ESEARCH (TAG "}, []string{" ALL "}},
			{0, "UID SORT RETURN (UPDATE) (REVERSE ARRIVAL) UTF-8 FLAGGED", "OK", []string{"* ESEARCH (TAG "}, nil},
			{1, "SELECT INBOX", "OK", nil, nil},
			{1, `STORE 1,3 +FLAGS (\Flagged)`, "OK", nil, nil},
			{0, "NOOP", "OK", []string{`* ESEARCH (TAG "t3") ADDTO (1 1,3)`, `* ESEARCH (TAG "t4") UID ADDTO (1 3 2 1)`}, nil},
			{1, `STORE 3 +FLAGS (\Deleted)`, "OK", nil, nil},
			{1, "EXPUNGE", "OK", nil, nil},
			{0, "NOOP", "OK", []string{`* ESEARCH (TAG "t3") REMOVEFROM (2 3)`, `* ESEARCH (TAG "t4") UID REMOVEFROM (1 3)`, "* 3 EXPUNGE"}, nil},
			{0, `CANCELUPDATE "t3"`, "OK", nil, nil},
			{1, `STORE 2 +FLAGS (\Flagged)`, "OK", nil, nil},
			{0, "NOOP", "OK", []string{`* ESEARCH (TAG "t4") UID ADDTO (1 2)`}, []string{`"t3"`}},
			{0, "UNSELECT", "OK", nil, nil},
			{0, `CANCELUPDATE "t4"`, "BAD", nil, nil},
		}},
		{"QUOTA without a limit", []cstep{
			{0, "GETQUOTAROOT INBOX", "OK", []string{"* QUOTAROOT INBOX"}, []string{"* QUOTA "}},
			{0, `GETQUOTA ""`, "NO [NONEXISTENT]", nil, nil},
			{0, "GETQUOTAROOT Nowhere", "NO [NONEXISTENT]", nil, nil},
			{0, `SETQUOTA "" (STORAGE 10)`, "BAD", nil, nil},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runScript(t, newEnv(t, Limits{}, 0), tc.steps)
		})
	}
}

func TestQuota(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	if err := e.st.SetQuota(t.Context(), ann, 10<<20); err != nil {
		t.Fatal(err)
	}
	used := 0
	for _, m := range testMessages {
		used += len(m)
	}
	want := `* QUOTA "" (STORAGE ` + strconv.Itoa((used+1023)/1024) + " 10240)"
	runScript(t, e, []cstep{
		{0, "GETQUOTAROOT INBOX", "OK", []string{`* QUOTAROOT INBOX ""`, want}, nil},
		{0, `GETQUOTA ""`, "OK", []string{want}, nil},
		{0, `GETQUOTA "other"`, "NO", nil, nil},
	})
}
