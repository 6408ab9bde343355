package smtpclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/smtpclient/smtptest"
	"sealpost.dev/sealpost/internal/tlsconf/tlstest"
)

// fast is 3 s for the greeting, 1.8 s for DATA's 354; the connection on
// loopback keeps 10 s, which only a machine under heavy load ever needs.
var fast = func() Timeouts {
	t := Timeouts{}.Scale(0.01)
	t.Connect = 10 * time.Second
	return t
}()

func opts() Options { return Options{LocalName: "client.example.org", Timeouts: fast} }

func dial(t *testing.T, srv *smtptest.Server) *Client {
	t.Helper()
	c, err := Dial(t.Context(), srv.Addr(), opts())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSendFullTransaction(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{
		Extensions: []string{"PIPELINING", "8BITMIME", "SIZE 100000", "DSN", "SMTPUTF8", "ENHANCEDSTATUSCODES"},
	})
	c := dial(t, srv)
	env := Envelope{
		From:     "sender@example.org",
		Size:     60,
		BodyType: "8BITMIME",
		SMTPUTF8: true,
		Ret:      "HDRS",
		EnvID:    "id 1+2",
		Recipients: []Recipient{
			{Address: "a@example.net", Notify: "SUCCESS,FAILURE", ORCPT: "rfc822;a@example.net"},
			{Address: "b@example.net"},
		},
	}
	body := "Subject: hi\n\n.leading dot\r\nlast line"
	errs, err := c.Send(t.Context(), env, strings.NewReader(body))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	for i, e := range errs {
		if e != nil {
			t.Errorf("recipient %d: %v", i, e)
		}
	}
	if err := c.Quit(t.Context()); err != nil {
		t.Errorf("Quit: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if want := "MAIL FROM:<sender@example.org> SIZE=60 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id+201+2B2"; m.Mail != want {
		t.Errorf("MAIL line\n got %q\nwant %q", m.Mail, want)
	}
	wantRcpts := []string{"RCPT TO:<a@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@example.net", "RCPT TO:<b@example.net>"}
	if strings.Join(m.Rcpts, "|") != strings.Join(wantRcpts, "|") {
		t.Errorf("RCPT lines\n got %q\nwant %q", m.Rcpts, wantRcpts)
	}
	if want := "Subject: hi\r\n\r\n.leading dot\r\nlast line\r\n"; string(m.Data) != want {
		t.Errorf("data %q, want %q", m.Data, want)
	}
	if !m.Pipelined {
		t.Error("MAIL and RCPT were not pipelined although the server offered PIPELINING")
	}
	if m.Helo != "client.example.org" {
		t.Errorf("EHLO name %q", m.Helo)
	}
}

func TestSendWithoutExtensions(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{})
	c := dial(t, srv)
	env := Envelope{From: "", Size: 10, BodyType: "7BIT", Ret: "FULL", EnvID: "x",
		Recipients: []Recipient{{Address: "a@example.net", Notify: "NEVER", ORCPT: "rfc822;a@example.net"}}}
	if _, err := c.Send(t.Context(), env, strings.NewReader("x\r\n")); err != nil {
		t.Fatal(err)
	}
	m := srv.Messages()[0]
	if m.Mail != "MAIL FROM:<>" || m.Rcpts[0] != "RCPT TO:<a@example.net>" {
		t.Errorf("parameters sent to a server that did not offer them: %q %q", m.Mail, m.Rcpts)
	}
	if m.Pipelined {
		t.Error("pipelined without PIPELINING")
	}
}

func TestPerRecipientReplies(t *testing.T) {
	for _, pipelining := range []bool{false, true} {
		var ext []string
		if pipelining {
			ext = []string{"PIPELINING"}
		}
		srv := smtptest.Start(t, smtptest.Config{Extensions: ext, Reply: func(_ *smtptest.SessionState, line string) string {
			switch {
			case strings.Contains(line, "<gone@"):
				return "550 5.1.1 No such user"
			case strings.Contains(line, "<full@"):
				return "452 4.2.2 Mailbox full"
			}
			return ""
		}})
		c := dial(t, srv)
		env := Envelope{From: "s@example.org", Recipients: []Recipient{
			{Address: "gone@example.net"}, {Address: "ok@example.net"}, {Address: "full@example.net"}, {Address: "bad address"},
		}}
		errs, err := c.Send(t.Context(), env, strings.NewReader("hello\r\n"))
		if err != nil {
			t.Fatalf("pipelining=%v: Send: %v", pipelining, err)
		}
		want := []struct {
			ok        bool
			code      int
			enhanced  string
			temporary bool
			local     bool
		}{{code: 550, enhanced: "5.1.1"}, {ok: true}, {code: 452, enhanced: "4.2.2", temporary: true}, {code: 553, enhanced: "5.1.3", local: true}}
		for i, w := range want {
			var e *Error
			switch {
			case w.ok && errs[i] != nil:
				t.Errorf("recipient %d: %v", i, errs[i])
			case w.ok:
			case !errors.As(errs[i], &e):
				t.Errorf("recipient %d: error %v is not an *Error", i, errs[i])
			case e.Reply.Code != w.code || e.Reply.Enhanced != w.enhanced || e.Temporary() != w.temporary || e.Local != w.local:
				t.Errorf("recipient %d: got %+v (temporary %v)", i, e, e.Temporary())
			}
		}
		if n := len(srv.Messages()); n != 1 || len(srv.Messages()[0].Rcpts) != 1 {
			t.Errorf("pipelining=%v: server messages %+v", pipelining, srv.Messages())
		}
	}
}

func TestTransactionFailures(t *testing.T) {
	tests := []struct {
		name      string
		reply     func(line string) string
		wantCode  int
		wantErr   bool // the transaction as a whole failed
		wantMsgs  int
		permanent bool
	}{
		{"all recipients refused", func(l string) string {
			if strings.HasPrefix(l, "RCPT") {
				return "550 5.1.1 No"
			}
			return ""
		}, 550, false, 0, true},
		{"MAIL refused", func(l string) string {
			if strings.HasPrefix(l, "MAIL") {
				return "451 4.3.0 Try later"
			}
			return ""
		}, 451, true, 0, false},
		{"DATA refused", func(l string) string {
			if l == "DATA" {
				return "554 5.5.0 No"
			}
			return ""
		}, 554, true, 0, true},
		{"final reply refused", func(l string) string {
			if l == "." {
				return "552 5.3.4 Too big"
			}
			return ""
		}, 552, true, 1, true},
	}
	for _, tc := range tests {
		for _, ext := range [][]string{nil, {"PIPELINING"}} {
			srv := smtptest.Start(t, smtptest.Config{Extensions: ext,
				Reply: func(_ *smtptest.SessionState, l string) string { return tc.reply(l) }})
			c := dial(t, srv)
			env := Envelope{From: "s@example.org", Recipients: []Recipient{{Address: "a@example.net"}, {Address: "b@example.net"}}}
			errs, err := c.Send(t.Context(), env, strings.NewReader("x"))
			if (err != nil) != tc.wantErr {
				t.Errorf("%s %v: err = %v", tc.name, ext, err)
			}
			for i, e := range errs {
				var se *Error
				if !errors.As(e, &se) || se.Reply.Code != tc.wantCode || IsPermanent(e) != tc.permanent {
					t.Errorf("%s %v: recipient %d: %v", tc.name, ext, i, e)
				}
			}
			if n := len(srv.Messages()); n != tc.wantMsgs {
				t.Errorf("%s: server saw %d messages", tc.name, n)
			}
			// The session is still in step: a NOOP-like RSET works.
			if err := c.Reset(t.Context()); err != nil {
				t.Errorf("%s %v: session out of step: %v", tc.name, ext, err)
			}
		}
	}
}

func TestHELOFallbackAndLocalRefusals(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{Reply: func(_ *smtptest.SessionState, l string) string {
		if strings.HasPrefix(l, "EHLO") {
			return "502 5.5.1 EHLO not implemented"
		}
		return ""
	}})
	c := dial(t, srv)
	if c.ESMTP() {
		t.Fatal("ESMTP after a refused EHLO")
	}
	tests := []struct {
		env      Envelope
		enhanced string
	}{
		{Envelope{BodyType: "8BITMIME"}, "5.6.3"},
		{Envelope{BodyType: "BINARYMIME"}, "5.6.3"},
		{Envelope{SMTPUTF8: true}, "5.6.7"},
		{Envelope{RequireTLS: true}, "5.7.10"},
		{Envelope{From: "bad sender"}, "5.1.7"},
	}
	for _, tc := range tests {
		tc.env.Recipients = []Recipient{{Address: "a@example.net"}}
		errs, err := c.Send(t.Context(), tc.env, strings.NewReader("x"))
		var e *Error
		if !errors.As(err, &e) || !e.Local || e.Reply.Enhanced != tc.enhanced || !IsPermanent(errs[0]) {
			t.Errorf("%+v: err %v, want a local %s refusal", tc.env, err, tc.enhanced)
		}
	}
	if len(srv.Messages()) != 0 {
		t.Error("a refused message reached the server")
	}
	// Plain text, with HELO, still delivers.
	if _, err := c.Send(t.Context(), Envelope{From: "s@example.org", Recipients: []Recipient{{Address: "a@example.net"}}}, strings.NewReader("x")); err != nil {
		t.Errorf("after HELO: %v", err)
	}
}

func TestSizeLimit(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{Extensions: []string{"SIZE 100"}})
	c := dial(t, srv)
	_, err := c.Send(t.Context(), Envelope{Size: 101, Recipients: []Recipient{{Address: "a@example.net"}}}, strings.NewReader("x"))
	var e *Error
	if !errors.As(err, &e) || !e.Local || e.Reply.Enhanced != "5.3.4" {
		t.Errorf("oversized message: %v", err)
	}
}

func TestGreetingRefused(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{Greeting: "554 5.7.1 No service"})
	_, err := Dial(t.Context(), srv.Addr(), opts())
	var e *Error
	if !errors.As(err, &e) || e.Op != "greeting" || e.Reply.Code != 554 || !IsPermanent(err) {
		t.Errorf("Dial: %v", err)
	}
}

func TestLocalName(t *testing.T) {
	for _, name := range []string{"", "localhost", "LOCALHOST.", "bad name", "-x-.example"} {
		if _, err := NewClient(nil, Options{LocalName: name}); err == nil {
			t.Errorf("LocalName %q accepted", name)
		}
	}
	for _, name := range []string{"mx.example.org", "[192.0.2.1]"} {
		if _, err := NewClient(nil, Options{LocalName: name}); err != nil {
			t.Errorf("LocalName %q: %v", name, err)
		}
	}
}

func TestStartTLS(t *testing.T) {
	cert, pool := tlstest.SelfSigned(t, "mx.example.net")
	srv := smtptest.Start(t, smtptest.Config{
		Extensions: []string{"PIPELINING", "REQUIRETLS"},
		TLS:        &tls.Config{Certificates: []tls.Certificate{cert}},
	})
	c := dial(t, srv)
	if c.Extensions().Has("REQUIRETLS") {
		t.Error("REQUIRETLS announced before TLS")
	}
	if _, ok := c.TLSConnectionState(); ok {
		t.Error("TLS state before STARTTLS")
	}
	if err := c.StartTLS(t.Context(), &tls.Config{ServerName: "mx.example.net", RootCAs: pool}); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	st, ok := c.TLSConnectionState()
	if !ok || !st.HandshakeComplete || st.PeerCertificates[0].Subject.CommonName != "mx.example.net" {
		t.Fatalf("TLS state %v %+v", ok, st)
	}
	if !c.Extensions().Has("REQUIRETLS") {
		t.Fatal("extensions not renewed after STARTTLS")
	}
	_, err := c.Send(t.Context(), Envelope{From: "s@example.org", RequireTLS: true,
		Recipients: []Recipient{{Address: "a@example.net"}}}, strings.NewReader("secret\r\n"))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	m := srv.Messages()[0]
	if !m.TLS || m.Mail != "MAIL FROM:<s@example.org> REQUIRETLS" || m.Helo != "client.example.org" {
		t.Errorf("server saw %+v", m)
	}
}

func TestStartTLSFailures(t *testing.T) {
	cert, _ := tlstest.SelfSigned(t, "mx.example.net")
	_, otherPool := tlstest.SelfSigned(t, "mx.example.net")

	t.Run("untrusted certificate", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
		c := dial(t, srv)
		err := c.StartTLS(t.Context(), &tls.Config{ServerName: "mx.example.net", RootCAs: otherPool})
		var cve *tls.CertificateVerificationError
		if !errors.As(err, &cve) {
			t.Fatalf("StartTLS: %v, want a certificate verification error", err)
		}
		if _, err := c.Send(t.Context(), Envelope{Recipients: []Recipient{{Address: "a@example.net"}}}, strings.NewReader("x")); err == nil {
			t.Error("session usable after a failed handshake")
		}
	})
	t.Run("RequireTLS not offered", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
		c := dial(t, srv)
		if err := c.StartTLS(t.Context(), &tls.Config{InsecureSkipVerify: true}); err != nil {
			t.Fatal(err)
		}
		_, err := c.Send(t.Context(), Envelope{RequireTLS: true, Recipients: []Recipient{{Address: "a@example.net"}}}, strings.NewReader("x"))
		var e *Error
		if !errors.As(err, &e) || !e.Local || e.Reply.Enhanced != "5.7.30" {
			t.Errorf("Send: %v, want a local 5.7.30 refusal", err)
		}
	})
	t.Run("not offered", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Config{})
		c := dial(t, srv)
		if err := c.StartTLS(t.Context(), &tls.Config{InsecureSkipVerify: true}); !errors.Is(err, ErrNoSTARTTLS) {
			t.Errorf("StartTLS: %v", err)
		}
		if _, err := c.Send(t.Context(), Envelope{Recipients: []Recipient{{Address: "a@example.net"}}}, strings.NewReader("x")); err != nil {
			t.Errorf("plain text after ErrNoSTARTTLS: %v", err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}},
			Reply: func(_ *smtptest.SessionState, l string) string {
				if l == "STARTTLS" {
					return "454 4.7.0 TLS not available"
				}
				return ""
			}})
		c := dial(t, srv)
		err := c.StartTLS(t.Context(), &tls.Config{InsecureSkipVerify: true})
		var e *Error
		if !errors.As(err, &e) || e.Reply.Code != 454 || !e.Temporary() {
			t.Errorf("StartTLS: %v", err)
		}
	})
}

// rawServer accepts one connection and runs script on it.
func rawServer(t *testing.T, script func(c net.Conn, r *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		script(c, bufio.NewReader(c))
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func TestInjectionBeforeTLSRefused(t *testing.T) {
	addr := rawServer(t, func(c net.Conn, r *bufio.Reader) {
		c.Write([]byte("220 mx ESMTP\r\n"))
		r.ReadString('\n')
		c.Write([]byte("250-mx\r\n250 STARTTLS\r\n"))
		r.ReadString('\n')
		c.Write([]byte("220 go ahead\r\n250 injected\r\n"))
		r.ReadString('\n')
	})
	c, err := Dial(t.Context(), addr, opts())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.StartTLS(t.Context(), &tls.Config{InsecureSkipVerify: true})
	if err == nil || !strings.Contains(err.Error(), "before the TLS handshake") {
		t.Errorf("StartTLS: %v", err)
	}
}

func TestTimeouts(t *testing.T) {
	silent := func(c net.Conn, r *bufio.Reader) { r.ReadString('\n') }
	t.Run("greeting timeout", func(t *testing.T) {
		addr := rawServer(t, silent)
		o := opts()
		o.Timeouts.Greeting = 100 * time.Millisecond
		start := time.Now()
		_, err := Dial(t.Context(), addr, o)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || IsPermanent(err) {
			t.Errorf("Dial: %v, want a temporary timeout", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("timeout took %v", d)
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		addr := rawServer(t, silent)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := Dial(ctx, addr, Options{LocalName: "client.example.org"})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Dial: %v, want context.Canceled", err)
		}
	})
	t.Run("data reply timeout", func(t *testing.T) {
		addr := rawServer(t, func(c net.Conn, r *bufio.Reader) {
			c.Write([]byte("220 mx\r\n"))
			for _, rep := range []string{"250 mx", "250 ok", "250 ok", "354 go"} {
				r.ReadString('\n')
				c.Write([]byte(rep + "\r\n"))
			}
			r.ReadString('\n') // the text, then silence
			time.Sleep(time.Second)
		})
		o := opts()
		o.Timeouts.DataTerm = 100 * time.Millisecond
		c, err := Dial(t.Context(), addr, o)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		errs, err := c.Send(t.Context(), Envelope{Recipients: []Recipient{{Address: "a@example.net"}}}, strings.NewReader("x\r\n"))
		var e *Error
		if !errors.As(err, &e) || e.Op != "DATA" || IsPermanent(errs[0]) {
			t.Errorf("Send: %v", err)
		}
	})
}

func TestBareCRRefused(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{})
	c := dial(t, srv)
	_, err := c.Send(t.Context(), Envelope{Recipients: []Recipient{{Address: "a@example.net"}}}, strings.NewReader("a\rb\r\n"))
	var e *Error
	if !errors.As(err, &e) || e.Reply.Enhanced != "5.6.0" || !IsPermanent(err) {
		t.Errorf("Send: %v", err)
	}
	if len(srv.Messages()) != 0 {
		t.Error("message with a bare CR delivered")
	}
}
