package imapserver

import (
	"crypto/tls"
	"io"
	"strings"
	"testing"
	"time"
)

// FuzzSession feeds bytes to a logged-in session over implicit TLS; the
// server must neither panic nor hang: it answers within the deadline or
// closes.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"a SELECT INBOX\r\nb FETCH 1:* (FLAGS BODY.PEEK[] BODYSTRUCTURE ENVELOPE)\r\n",
		"a SELECT INBOX\r\nb STORE 1:* +FLAGS (\\Deleted)\r\nc EXPUNGE\r\n",
		"a APPEND INBOX {5+}\r\nab\r\nc\r\nb NOOP\r\n",
		"a SELECT INBOX\r\nb SEARCH OR (FROM x) NOT BODY y\r\nc UID SEARCH 1:*\r\n",
		"a SELECT INBOX\r\nb IDLE\r\nDONE\r\nc UID MOVE 1 Trash\r\n",
		"a LIST \"\" *\r\nb CREATE a/b\r\nc RENAME a b\r\nd DELETE b/b\r\n",
		"a SELECT INBOX\r\nb FETCH 2 (BODY[1.MIME] BODY[2.HEADER] BODY[]<1.3>)\r\n",
		"a AUTHENTICATE PLAIN\r\n*\r\n",
		"a SELECT INBOX\r\nb NOTIFY SET STATUS (SELECTED (MessageNew (UID BODY.PEEK[]) MessageExpunge)) (PERSONAL (MailboxName))\r\nc NOOP\r\nd NOTIFY NONE\r\n",
		"a SELECT INBOX\r\nb SEARCH RETURN (UPDATE PARTIAL -1:-2) FROM x\r\nc STORE 1 +FLAGS (\\Seen)\r\nd CANCELUPDATE \"b\"\r\n",
		"a LSUB \"\" %\r\nb LIST (SUBSCRIBED RECURSIVEMATCH) \"\" *\r\nc SUBSCRIBE x/y\r\n",
		"\r\n\r\n)(*&^%\r\n",
	} {
		f.Add(s)
	}
	e := newEnv(f, Limits{}, 0)
	f.Fuzz(func(t *testing.T, in string) {
		c := e.connect(t, "imaps", true)
		c.send(in + "\r\nzz LOGOUT\r\n")
		// End of input: a literal left waiting for bytes meets EOF.
		c.conn.(*tls.Conn).CloseWrite()
		c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		out, err := io.ReadAll(c.conn)
		if err != nil && isTimeout(err) {
			t.Fatalf("no end to the session after %q; read %q", in, out)
		}
		if strings.Contains(string(out), "SERVERBUG") {
			t.Fatalf("server bug after %q: %q", in, out)
		}
	})
}
