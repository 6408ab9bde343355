package smtpserver

import (
	"io"
	"net"
	"testing"
	"time"
)

// FuzzSession feeds arbitrary bytes to a live MX session: the server must
// neither crash nor hang, whatever the client sends.
func FuzzSession(f *testing.F) {
	seeds := []string{
		"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<ann@example.org>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n",
		"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<ann@example.org>\r\nBDAT 5 LAST\r\nhello",
		"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<ann@example.org>\r\nDATA\r\nx\n.\nMAIL FROM:<c@d>\r\n.\r\n",
		"HELO x\r\nSTARTTLS\r\nMAIL FROM:<a@b>\r\n",
		"EHLO x\r\nAUTH PLAIN AGFubkBleGFtcGxlLm9yZwB4\r\n",
		"EHLO x\r\nBDAT 99999999999999999999\r\n",
		"\r\n\r\n\x00\xff\r\nRCPT TO:<\"a\\\"@b\"@example.org>\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	e := newEnv(f, Limits{IdleTimeout: time.Second, DataTimeout: time.Second, MaxErrors: 1000}, 0)
	addr := e.addrs[MX]
	f.Fuzz(func(t *testing.T, input []byte) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		go func() {
			conn.Write(input)
			conn.(*net.TCPConn).CloseWrite()
		}()
		if _, err := io.Copy(io.Discard, conn); err != nil {
			t.Fatalf("the session did not end: %v", err)
		}
	})
}
