package imap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// recorder is a LiteralFunc that records what it was asked and writes
// continuation requests to out for synchronizing literals.
type recorder struct {
	infos  []LiteralInfo
	out    *bytes.Buffer
	refuse func(LiteralInfo) error
}

func (rec *recorder) fn(info LiteralInfo) error {
	rec.infos = append(rec.infos, info)
	if rec.refuse != nil {
		if err := rec.refuse(info); err != nil {
			return err
		}
	}
	if info.Sync && rec.out != nil {
		rec.out.WriteString("+ go\r\n")
	}
	return nil
}

func newTestReader(in string, lim Limits, rec *recorder) *Reader {
	if rec == nil {
		rec = &recorder{}
	}
	return NewReader(bufio.NewReaderSize(strings.NewReader(in), 64), lim, rec.fn)
}

func TestLiterals(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		lim      Limits
		wantUser string
		wantPass string
		wantSync []bool
		wantErr  string // substring of describe()
	}{
		{name: "sync", in: "a LOGIN {5}\r\nalice {3}\r\npw!\r\n", wantUser: "alice", wantPass: "pw!", wantSync: []bool{true, true}},
		{name: "nonsync", in: "a LOGIN {5+}\r\nalice {3+}\r\npw!\r\n", wantUser: "alice", wantPass: "pw!", wantSync: []bool{false, false}},
		{name: "empty literal", in: "a LOGIN {0}\r\n {0+}\r\n\r\n", wantSync: []bool{true, false}},
		{name: "literal with CRLF inside", in: "a LOGIN {4}\r\na\r\nb \"x\"\r\n", wantUser: "a\r\nb", wantPass: "x", wantSync: []bool{true}},
		{name: "LITERAL- cap", in: "a LOGIN {4097+}\r\n", wantErr: "LITERAL tag=\"a\" nonsync=true size=4097"},
		{name: "LITERAL+ lifts the cap", in: "a LOGIN {4097+}\r\n" + strings.Repeat("x", 4097) + " p\r\n", lim: Limits{MaxNonSync: -1}, wantUser: strings.Repeat("x", 4097), wantPass: "p", wantSync: []bool{false}},
		{name: "literal over MaxLiteral", in: "a LOGIN {65537}\r\n", wantErr: "LITERAL tag=\"a\" nonsync=false size=65537: literal too big"},
		{name: "huge announcement", in: "a LOGIN {9223372036854775807}\r\n", wantErr: "LITERAL tag=\"a\" nonsync=false"},
		{name: "command limit", in: "a LOGIN {60000}\r\n", lim: Limits{MaxCommand: 1000}, wantErr: "literal too big"},
		{name: "literal not at line end", in: "a LOGIN {5} x\r\n", wantErr: "literal announcement must end the line"},
		{name: "NUL in literal", in: "a LOGIN {3}\r\na\x00b c\r\n", wantErr: "NUL in literal"},
		{name: "literal8 outside APPEND", in: "a LOGIN ~{3}\r\nabc c\r\n", wantErr: "literal8 not allowed here"},
		{name: "truncated literal", in: "a LOGIN {10}\r\nabc", wantErr: "ERROR unexpected EOF"},
		{name: "invalid UTF-8 literal", in: "a LOGIN {2}\r\n\xff\xfe c\r\n", wantErr: "invalid UTF-8"},
		{name: "invalid UTF-8 quoted", in: "a LOGIN \"\xff\" c\r\n", wantErr: "invalid UTF-8"},
		{name: "line too long", in: "a LOGIN " + strings.Repeat("x", 70000) + "\r\n", wantErr: "close=true: line too long"},
		{name: "line limit configurable", in: "a LOGIN " + strings.Repeat("x", 200) + " y\r\n", lim: Limits{MaxLine: 100}, wantErr: "close=true: line too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			r := newTestReader(tt.in, tt.lim, rec)
			cmd, err := r.ReadCommand()
			got := describe(cmd, err)
			if tt.wantErr != "" {
				if !strings.Contains(got, tt.wantErr) {
					t.Fatalf("got %s, want error containing %q", got, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadCommand: %v", err)
			}
			a := cmd.Args.(*LoginArgs)
			if a.Username != tt.wantUser || a.Password != tt.wantPass {
				t.Errorf("got %q/%q, want %q/%q", a.Username, a.Password, tt.wantUser, tt.wantPass)
			}
			var sync []bool
			for _, info := range rec.infos {
				sync = append(sync, info.Sync)
			}
			if fmt.Sprint(sync) != fmt.Sprint(tt.wantSync) {
				t.Errorf("literal callbacks sync=%v, want %v", sync, tt.wantSync)
			}
		})
	}
}

// TestResync checks that after a BAD the next command is read from the
// right place, including when a non-synchronizing literal follows the
// error on the same command.
func TestResync(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantClose bool
		next      string // tag of the command read next; "" if closing
	}{
		{"plain", "a BOGUS x y\r\nb NOOP\r\n", false, "b"},
		{"nonsync literal skipped", "a BOGUS {6+}\r\nNOOP\r\n more\r\nb NOOP\r\n", false, "b"},
		{"chained nonsync literals", "a FETCH x {3+}\r\nabc {2+}\r\nde\r\nb NOOP\r\n", false, "b"},
		{"sync literal ends the command", "a BOGUS {5}\r\nb NOOP\r\n", false, "b"},
		{"oversized nonsync literal", "a BOGUS {999999+}\r\nxxxx\r\n", true, ""},
		{"error inside literal continuation", "a LOGIN {3+}\r\nabc (\r\nb NOOP\r\n", false, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestReader(tt.in, Limits{}, nil)
			_, err := r.ReadCommand()
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("want SyntaxError, got %v", err)
			}
			if se.Close != tt.wantClose {
				t.Fatalf("Close = %v, want %v (%s)", se.Close, tt.wantClose, se.Msg)
			}
			if tt.wantClose {
				return
			}
			cmd, err := r.ReadCommand()
			if err != nil || cmd.Tag != tt.next {
				t.Fatalf("next command: %v %v, want tag %q", cmd, err, tt.next)
			}
		})
	}
}

// TestNonSyncRefusedCloses checks the documented policy: a refused
// non-synchronizing literal means the connection must close.
func TestNonSyncRefusedCloses(t *testing.T) {
	rec := &recorder{refuse: func(LiteralInfo) error { return errors.New("no") }}
	r := newTestReader("a LOGIN {3+}\r\nabc d\r\n", Limits{}, rec)
	_, err := r.ReadCommand()
	var le *LiteralError
	if !errors.As(err, &le) || !le.NonSync || le.Err.Error() != "no" {
		t.Fatalf("got %v, want NonSync LiteralError wrapping the refusal", err)
	}
	// A refused synchronizing literal leaves the stream at a command boundary.
	r = newTestReader("a LOGIN {3}\r\nb NOOP\r\n", Limits{}, rec)
	if _, err := r.ReadCommand(); !errors.As(err, &le) || le.NonSync {
		t.Fatalf("got %v, want sync LiteralError", err)
	}
	if cmd, err := r.ReadCommand(); err != nil || cmd.Name != "NOOP" {
		t.Fatalf("after refused sync literal: %v %v", cmd, err)
	}
}

func TestNilLiteralFunc(t *testing.T) {
	r := NewReader(bufio.NewReader(strings.NewReader("a LOGIN {3}\r\n")), Limits{}, nil)
	var le *LiteralError
	if _, err := r.ReadCommand(); !errors.As(err, &le) {
		t.Fatalf("got %v, want LiteralError", err)
	}
}

func TestEmptyLinesAndEOF(t *testing.T) {
	r := newTestReader("\r\n\r\na NOOP\r\n", Limits{}, nil)
	if cmd, err := r.ReadCommand(); err != nil || cmd.Tag != "a" {
		t.Fatalf("got %v %v", cmd, err)
	}
	if _, err := r.ReadCommand(); err != io.EOF {
		t.Fatalf("got %v, want io.EOF", err)
	}
	r = newTestReader("a NOOP", Limits{}, nil)
	if _, err := r.ReadCommand(); err != io.ErrUnexpectedEOF {
		t.Fatalf("partial line: got %v, want io.ErrUnexpectedEOF", err)
	}
	r = newTestReader(strings.Repeat("\r\n", 100), Limits{}, nil)
	var se *SyntaxError
	if _, err := r.ReadCommand(); !errors.As(err, &se) || !se.Close {
		t.Fatalf("endless empty lines: got %v", err)
	}
}

func TestAuthenticateAndIdle(t *testing.T) {
	r := newTestReader("a AUTHENTICATE PLAIN =\r\nb AUTHENTICATE PLAIN\r\nAGEAYg==\r\n*\r\nc IDLE\r\ndone\r\nd IDLE\r\nnope\r\n", Limits{}, nil)
	cmd, err := r.ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	if ir := cmd.Args.(*AuthenticateArgs).InitialResponse; ir == nil || len(ir) != 0 {
		t.Errorf("SASL-IR \"=\": got %#v, want empty non-nil", ir)
	}
	cmd, _ = r.ReadCommand()
	if ir := cmd.Args.(*AuthenticateArgs).InitialResponse; ir != nil {
		t.Errorf("no SASL-IR: got %#v, want nil", ir)
	}
	if b, err := r.ReadAuthResponse(); err != nil || string(b) != "\x00a\x00b" {
		t.Errorf("auth response: %q %v", b, err)
	}
	if _, err := r.ReadAuthResponse(); err != ErrAuthCanceled {
		t.Errorf("cancel: got %v", err)
	}
	if cmd, _ := r.ReadCommand(); cmd.Name != "IDLE" {
		t.Fatalf("got %v", cmd)
	}
	if err := r.ReadDone(); err != nil {
		t.Errorf("DONE: %v", err)
	}
	r.ReadCommand()
	var se *SyntaxError
	if err := r.ReadDone(); !errors.As(err, &se) {
		t.Errorf("not DONE: got %v", err)
	}
}

// readAppend reads every message of an APPEND.
func readAppend(t *testing.T, a *AppendArgs) ([]*AppendMessage, []string) {
	t.Helper()
	var msgs []*AppendMessage
	var bodies []string
	for range 10 {
		m, err := a.Next()
		if errors.Is(err, ErrAppendDone) {
			return msgs, bodies
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		b, err := io.ReadAll(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
		bodies = append(bodies, string(b))
	}
	t.Fatal("too many messages")
	return nil, nil
}

func TestAppend(t *testing.T) {
	in := "a APPEND Drafts (\\Seen $Forwarded) \" 5-Mar-2024 10:11:12 +0100\" {5}\r\nhello" +
		" ~{3+}\r\nx\x00y {0}\r\n\r\nb NOOP\r\n"
	rec := &recorder{}
	r := newTestReader(in, Limits{}, rec)
	cmd, err := r.ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	a := cmd.Args.(*AppendArgs)
	if a.Mailbox != "Drafts" {
		t.Errorf("mailbox %q", a.Mailbox)
	}
	msgs, bodies := readAppend(t, a)
	if len(msgs) != 3 || bodies[0] != "hello" || bodies[1] != "x\x00y" || bodies[2] != "" {
		t.Fatalf("bodies %q", bodies)
	}
	if fmt.Sprint(msgs[0].Flags) != `[\Seen $Forwarded]` || msgs[0].Date.Format(time.RFC3339) != "2024-03-05T10:11:12+01:00" {
		t.Errorf("first message: %v %v", msgs[0].Flags, msgs[0].Date)
	}
	if !msgs[1].Binary || msgs[1].Flags != nil || !msgs[1].Date.IsZero() {
		t.Errorf("second message: %+v", msgs[1])
	}
	for i, info := range rec.infos {
		if !info.Append {
			t.Errorf("literal %d not marked Append", i)
		}
	}
	if cmd, err := r.ReadCommand(); err != nil || cmd.Tag != "b" {
		t.Fatalf("after APPEND: %v %v", cmd, err)
	}
}

// TestAppendUnreadBody checks that a body the server did not read, or an
// APPEND it refused, is skipped so the next command parses.
func TestAppendUnreadBody(t *testing.T) {
	in := "a APPEND INBOX {10+}\r\n0123456789 {3+}\r\nabc\r\nb APPEND INBOX {4}\r\nc NOOP\r\n"
	r := newTestReader(in, Limits{}, nil)
	cmd, _ := r.ReadCommand()
	if _, err := cmd.Args.(*AppendArgs).Next(); err != nil {
		t.Fatal(err)
	}
	cmd, err := r.ReadCommand() // discards the rest of a
	if err != nil || cmd.Tag != "b" {
		t.Fatalf("got %v %v", cmd, err)
	}
	// b is refused before its literal is accepted: the client never sends it.
	if err := cmd.Args.(*AppendArgs).Discard(); err != nil {
		t.Fatal(err)
	}
	if cmd, err := r.ReadCommand(); err != nil || cmd.Tag != "c" {
		t.Fatalf("got %v %v", cmd, err)
	}
}

func TestAppendErrors(t *testing.T) {
	tests := []struct {
		name, in  string
		lim       Limits
		want      string
		wantClose bool
	}{
		{"no literal", "a APPEND INBOX (\\Seen) x\r\n", Limits{}, "expected message literal", false},
		{"bad date", "a APPEND INBOX \"31-Feb-2024 00:00:00 +0000\" {1}\r\n", Limits{}, "invalid date", false},
		{"catenate", "a APPEND INBOX CATENATE (TEXT {1+}\r\nx)\r\n", Limits{}, "CATENATE is not supported", false},
		{"too big sync", "a APPEND INBOX {2000}\r\n", Limits{MaxAppend: 1000}, "literal too big", false},
		{"too big nonsync", "a APPEND INBOX {5000+}\r\n", Limits{}, "literal too big", true},
		{"junk after body", "a APPEND INBOX {1+}\r\nx junk\r\n", Limits{}, "expected message literal", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestReader(tt.in+"z NOOP\r\n", tt.lim, nil)
			cmd, err := r.ReadCommand()
			if err != nil {
				t.Fatal(err)
			}
			a := cmd.Args.(*AppendArgs)
			var m *AppendMessage
			for range 3 {
				if m, err = a.Next(); err != nil {
					break
				}
				io.Copy(io.Discard, m.Body)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			var le *LiteralError
			var se *SyntaxError
			closeConn := (errors.As(err, &le) && le.NonSync) || (errors.As(err, &se) && se.Close)
			if closeConn != tt.wantClose {
				t.Fatalf("close = %v, want %v", closeConn, tt.wantClose)
			}
			if !closeConn {
				if cmd, err := r.ReadCommand(); err != nil || cmd.Tag != "z" {
					t.Fatalf("next command: %v %v", cmd, err)
				}
			}
		})
	}
}

// TestAppendStreams proves the APPEND body is not buffered: Next returns
// while most of the body has not been sent yet.
func TestAppendStreams(t *testing.T) {
	const size = 8 << 20
	pr, pw := io.Pipe()
	proceed := make(chan struct{})
	go func() {
		fmt.Fprintf(pw, "a APPEND INBOX {%d+}\r\n", size)
		pw.Write(bytes.Repeat([]byte("x"), 1024))
		select {
		case <-proceed:
		case <-time.After(10 * time.Second):
			pw.CloseWithError(errors.New("Next did not return before the body was sent"))
			return
		}
		chunk := bytes.Repeat([]byte("y"), 64<<10)
		for sent := 1024; sent < size; sent += len(chunk) {
			pw.Write(chunk[:min(len(chunk), size-sent)])
		}
		pw.Write([]byte("\r\n"))
		pw.Close()
	}()
	r := NewReader(bufio.NewReader(pr), Limits{MaxNonSync: -1}, nil)
	cmd, err := r.ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	m, err := cmd.Args.(*AppendArgs).Next()
	if err != nil {
		t.Fatal(err)
	}
	close(proceed)
	n, err := io.Copy(io.Discard, m.Body)
	if err != nil || n != size || m.Size != size {
		t.Fatalf("read %d of %d: %v", n, size, err)
	}
	if _, err := cmd.Args.(*AppendArgs).Next(); !errors.Is(err, ErrAppendDone) {
		t.Fatalf("got %v, want ErrAppendDone", err)
	}
}

// TestLoopbackContinuation runs synchronizing literals over a real TCP
// connection: the client only sends a literal after the "+" the
// LiteralFunc writes.
func TestLoopbackContinuation(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		steps := []string{"a1 LOGIN {5}\r\n", "alice {6}\r\n", "secret\r\n"}
		for i, s := range steps {
			if _, err := c.Write([]byte(s)); err != nil {
				done <- err
				return
			}
			if i < len(steps)-1 {
				line, err := br.ReadString('\n')
				if err != nil || !strings.HasPrefix(line, "+ ") {
					done <- fmt.Errorf("want continuation, got %q %v", line, err)
					return
				}
			}
		}
		line, err := br.ReadString('\n')
		if err == nil && line != "a1 OK [CAPABILITY IMAP4rev2] logged in\r\n" {
			err = fmt.Errorf("tagged reply %q", line)
		}
		done <- err
	}()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	w := NewWriter(conn)
	r := NewReader(bufio.NewReader(conn), Limits{}, func(info LiteralInfo) error {
		if info.Sync {
			return w.Continue("Ready for literal data")
		}
		return nil
	})
	cmd, err := r.ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	if a := cmd.Args.(*LoginArgs); a.Username != "alice" || a.Password != "secret" {
		t.Fatalf("got %+v", a)
	}
	w.Status(cmd.Tag, "OK", CodeCapability([]string{"IMAP4rev2"}), "logged in")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSetLimits(t *testing.T) {
	r := newTestReader("a LOGIN {100+}\r\n", Limits{}, nil)
	r.SetLimits(Limits{MaxNonSync: 50})
	if r.Limits().MaxNonSync != 50 || r.Limits().MaxLine != DefaultMaxLine {
		t.Fatalf("limits %+v", r.Limits())
	}
	var le *LiteralError
	if _, err := r.ReadCommand(); !errors.As(err, &le) {
		t.Fatalf("got %v", err)
	}
}
