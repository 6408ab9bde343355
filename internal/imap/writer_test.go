package imap

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestWriterStrings(t *testing.T) {
	tests := []struct {
		name string
		utf8 bool
		fn   func(w *Writer)
		want string
	}{
		{"atom astring", false, func(w *Writer) { w.AString("INBOX") }, "INBOX"},
		{"astring with space", false, func(w *Writer) { w.AString("Sent Items") }, `"Sent Items"`},
		{"astring NIL is quoted", false, func(w *Writer) { w.AString("nil") }, `"nil"`},
		{"astring empty", false, func(w *Writer) { w.AString("") }, `""`},
		{"astring ]", false, func(w *Writer) { w.AString("a]b") }, "a]b"},
		{"quoted escapes", false, func(w *Writer) { w.String(`say "hi" \o/`) }, `"say \"hi\" \\o/"`},
		{"CRLF goes literal", false, func(w *Writer) { w.String("a\r\nb") }, "{4}\r\na\r\nb"},
		{"8-bit without UTF8 goes literal", false, func(w *Writer) { w.String("café") }, "{5}\r\ncafé"},
		{"8-bit with UTF8 is quoted", true, func(w *Writer) { w.String("café") }, `"café"`},
		{"invalid UTF-8 goes literal", true, func(w *Writer) { w.String("\xff") }, "{1}\r\n\xff"},
		{"NUL goes literal8", false, func(w *Writer) { w.String("a\x00") }, "~{2}\r\na\x00"},
		{"long goes literal", false, func(w *Writer) { w.String(strings.Repeat("a", 1025)) }, "{1025}\r\n" + strings.Repeat("a", 1025)},
		{"nstring nil", false, func(w *Writer) { w.NString("x", false) }, "NIL"},
		{"nstring", false, func(w *Writer) { w.NString("x", true) }, `"x"`},
		{"mailbox rev1", false, func(w *Writer) { w.Mailbox("Entwürfe") }, "Entw&APw-rfe"},
		{"mailbox utf8", true, func(w *Writer) { w.Mailbox("Entwürfe") }, `"Entwürfe"`},
		{"mailbox with space", false, func(w *Writer) { w.Mailbox("My Ärger") }, `"My &AMQ-rger"`},
		{"list", false, func(w *Writer) { w.Atom("FLAGS").SP().Flags([]string{`\Seen`, "$Junk"}) }, `FLAGS (\Seen $Junk)`},
		{"empty list", false, func(w *Writer) { w.Flags(nil) }, "()"},
		{"number", false, func(w *Writer) { w.Number(18446744073709551615) }, "18446744073709551615"},
		{"date-time", false, func(w *Writer) { w.DateTime(time.Date(2024, 3, 5, 7, 8, 9, 0, time.UTC)) }, `" 5-Mar-2024 07:08:09 +0000"`},
		{"literal stream", false, func(w *Writer) { w.Literal(3, strings.NewReader("abcdef"), false) }, "{3}\r\nabc"},
		{"literal8 stream", false, func(w *Writer) { w.Literal(2, strings.NewReader("\x00\x01"), true) }, "~{2}\r\n\x00\x01"},
		{"seqset", false, func(w *Writer) { w.SeqSet(SeqSetOf(1, 2, 3, 5)) }, "1:3,5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf)
			w.UTF8 = tt.utf8
			tt.fn(w)
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tt.want {
				t.Errorf("got %q, want %q", buf.String(), tt.want)
			}
		})
	}
}

func TestWriterResponses(t *testing.T) {
	uids := SeqSetOf(10, 11, 12, 20)
	tests := []struct {
		name string
		fn   func(w *Writer) error
		want string
	}{
		{"tagged OK", func(w *Writer) error { return w.Status("a1", "OK", "", "done") }, "a1 OK done\r\n"},
		{"empty text", func(w *Writer) error { return w.Status("a1", "OK", "", "") }, "a1 OK done\r\n"},
		{"CRLF in text", func(w *Writer) error { return w.Status("*", "NO", "", "a\r\nb") }, "* NO a  b\r\n"},
		{"uidvalidity", func(w *Writer) error { return w.Status("*", "OK", CodeUIDValidity(3857529045), "UIDs valid") }, "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"},
		{"uidnext", func(w *Writer) error { return w.Status("*", "OK", CodeUIDNext(4392), "next") }, "* OK [UIDNEXT 4392] next\r\n"},
		{"highestmodseq", func(w *Writer) error { return w.Status("*", "OK", CodeHighestModSeq(715194045007), "x") }, "* OK [HIGHESTMODSEQ 715194045007] x\r\n"},
		{"closed", func(w *Writer) error { return w.Status("*", "OK", CodeClosed, "prior mailbox closed") }, "* OK [CLOSED] prior mailbox closed\r\n"},
		{"modified", func(w *Writer) error {
			return w.Status("a", "OK", CodeModified(SeqSetOf(7, 9)), "Conditional STORE failed")
		}, "a OK [MODIFIED 7,9] Conditional STORE failed\r\n"},
		{"copyuid", func(w *Writer) error {
			return w.Status("a", "OK", CodeCopyUID(38505, uids, SeqSetOf(3956, 3957, 3958, 3959)), "done")
		}, "a OK [COPYUID 38505 10:12,20 3956:3959] done\r\n"},
		{"appenduid", func(w *Writer) error { return w.Status("a", "OK", CodeAppendUID(38505, SeqSetOf(3955)), "done") }, "a OK [APPENDUID 38505 3955] done\r\n"},
		{"permanentflags", func(w *Writer) error {
			return w.Status("*", "OK", CodePermanentFlags([]string{`\Deleted`, `\Seen`, `\*`}), "Limited")
		}, "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"},
		{"capability code", func(w *Writer) error { return w.Status("a", "OK", CodeCapability([]string{"IMAP4rev2", "IDLE"}), "x") }, "a OK [CAPABILITY IMAP4rev2 IDLE] x\r\n"},
		{"badcharset", func(w *Writer) error { return w.Status("a", "NO", CodeBadCharset([]string{"UTF-8"}), "x") }, "a NO [BADCHARSET (UTF-8)] x\r\n"},
		{"trycreate", func(w *Writer) error { return w.Status("a", "NO", CodeTryCreate, "no mailbox") }, "a NO [TRYCREATE] no mailbox\r\n"},
		{"nomodseq", func(w *Writer) error { return w.Status("*", "OK", CodeNoModSeq, "x") }, "* OK [NOMODSEQ] x\r\n"},
		{"mailboxid", func(w *Writer) error { return w.Status("*", "OK", CodeMailboxID("F2212ea87"), "x") }, "* OK [MAILBOXID (F2212ea87)] x\r\n"},
		{"exists", func(w *Writer) error { return w.Exists(23) }, "* 23 EXISTS\r\n"},
		{"expunge", func(w *Writer) error { return w.Expunge(4) }, "* 4 EXPUNGE\r\n"},
		{"vanished", func(w *Writer) error { return w.Vanished(false, uids) }, "* VANISHED 10:12,20\r\n"},
		{"vanished earlier", func(w *Writer) error { return w.Vanished(true, uids) }, "* VANISHED (EARLIER) 10:12,20\r\n"},
		{"capability", func(w *Writer) error { return w.Capability([]string{"IMAP4rev2", "IMAP4rev1"}) }, "* CAPABILITY IMAP4rev2 IMAP4rev1\r\n"},
		{"continue", func(w *Writer) error { return w.Continue("") }, "+ done\r\n"},
		{"fetch line", func(w *Writer) error {
			return w.Untagged().Number(12).Atom(" FETCH ").Open().Atom("UID ").Number(4827).Atom(" MODSEQ ").
				Open().Number(12121231000).Close().Atom(" BODY[] ").Literal(5, strings.NewReader("hello"), false).Close().End()
		}, "* 12 FETCH (UID 4827 MODSEQ (12121231000) BODY[] {5}\r\nhello)\r\n"},
		{"list response", func(w *Writer) error {
			return w.Untagged().Atom("LIST ").Flags([]string{`\HasNoChildren`, `\Sent`}).SP().String("/").SP().Mailbox("Gesendete Objekte").End()
		}, "* LIST (\\HasNoChildren \\Sent) \"/\" \"Gesendete Objekte\"\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf)
			if err := tt.fn(w); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tt.want {
				t.Errorf("got %q, want %q", buf.String(), tt.want)
			}
		})
	}
}

// countingWriter counts Write calls, to check that lines are batched.
type countingWriter struct {
	writes int
	bytes  int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	c.bytes += len(p)
	return len(p), nil
}

func TestWriterBuffering(t *testing.T) {
	var cw countingWriter
	w := NewWriter(&cw)
	for i := range 10000 {
		w.Untagged().Number(uint64(i + 1)).Atom(" FETCH (FLAGS (\\Seen))").End()
	}
	if cw.bytes > 0 && cw.writes*DefaultWriteBuffer < cw.bytes-DefaultWriteBuffer {
		t.Fatalf("writes of less than a buffer: %d writes for %d bytes", cw.writes, cw.bytes)
	}
	before := cw.writes
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if cw.writes != before+1 || w.Buffered() != 0 {
		t.Fatalf("Flush: writes %d -> %d, buffered %d", before, cw.writes, w.Buffered())
	}
	// ~290 KiB of responses in about 9 writes, not 10000.
	if cw.writes > cw.bytes/DefaultWriteBuffer+2 {
		t.Fatalf("%d writes for %d bytes", cw.writes, cw.bytes)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriterErrors(t *testing.T) {
	w := NewWriter(failWriter{})
	w.Atom(strings.Repeat("x", DefaultWriteBuffer+1))
	if err := w.End(); err == nil || w.Err() == nil {
		t.Fatal("write error not kept")
	}
	var buf bytes.Buffer
	w.Reset(&buf)
	if w.Err() != nil {
		t.Fatal("Reset kept the error")
	}
	w.Literal(10, strings.NewReader("short"), false)
	if !errors.Is(w.Err(), io.ErrUnexpectedEOF) {
		t.Fatalf("short literal: %v", w.Err())
	}
}
