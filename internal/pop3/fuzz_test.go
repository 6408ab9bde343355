package pop3

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzSession feeds arbitrary bytes to a live POP3S session (so that the
// TRANSACTION state is reachable): the server must neither crash nor hang,
// whatever the client sends.
func FuzzSession(f *testing.F) {
	login := "USER " + ann + "\r\nPASS " + annPassword + "\r\n"
	seeds := []string{
		login + "STAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 1\r\nDELE 3\r\nRSET\r\nNOOP\r\nQUIT\r\n",
		login + "DELE 1\r\nDELE 1\r\nLIST 1\r\nTOP 1 99999999\r\nRETR 0\r\nUIDL 4294967296\r\n",
		"AUTH PLAIN " + plainResponse(ann, annPassword) + "\r\nRETR 1\r\nRETR 2\r\nRETR 3\r\n",
		"AUTH PLAIN\r\n" + plainResponse(ann, annPassword) + "\r\nCAPA\r\n",
		"AUTH PLAIN\r\n*\r\nAUTH\r\nAUTH X Y Z\r\nAUTH PLAIN =\r\n",
		"CAPA\r\nSTLS\r\nAPOP a b\r\nUSER\r\nPASS\r\n\r\n\r\n",
		"\x00\xff\r\nUSER \x00\r\nPASS \r\nTOP\r\nLIST 1 2\n\n\rQUIT",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	e := newEnv(f, Limits{IdleTimeout: time.Second, MaxErrors: 1000, MaxAuthFailures: 1000}, 0)
	addr := e.addrs[POP3S]
	f.Fuzz(func(t *testing.T, input []byte) {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
			&tls.Config{InsecureSkipVerify: true, ServerName: hostname})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		go func() {
			conn.Write(input)
			conn.CloseWrite()
		}()
		// A reset is an ending too: the server may close with the
		// client's close_notify unread.
		var ne net.Error
		if _, err := io.Copy(io.Discard, conn); errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the session did not end: %v", err)
		}
	})
}
