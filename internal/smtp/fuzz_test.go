package smtp

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// The fuzz targets below keep their seed corpora in testdata/fuzz/.

// FuzzParseCommand: ParseCommand never panics, fails only with a reply,
// and what it accepts is consistent: a path re-serialises to itself and
// keywords are distinct.
func FuzzParseCommand(f *testing.F) {
	f.Add([]byte("MAIL FROM:<user@example.org> SIZE=10"))
	f.Fuzz(func(t *testing.T, line []byte) {
		for _, parse := range []func([]byte) (Command, error){ParseCommand, ParseCommandUTF8} {
			c, err := parse(line)
			if err != nil {
				if r, ok := ReplyOf(err); !ok || r.Code < 500 || r.Code > 555 {
					t.Fatalf("%q: error %v is not a 5xx reply", line, err)
				}
				continue
			}
			seen := map[string]bool{}
			for _, p := range c.Params {
				if seen[p.Keyword] {
					t.Fatalf("%q: duplicate %s accepted", line, p.Keyword)
				}
				seen[p.Keyword] = true
			}
			if (c.Verb == VerbMAIL || c.Verb == VerbRCPT) && !c.Path.IsNull() && !c.Path.IsPostmaster() {
				checkPathRoundTrip(t, c.Path)
			}
		}
	})
}

// FuzzParsePath: as for commands, for paths on their own, and no accepted
// path breaks the limits of RFC 5321 section 4.5.3.1.
func FuzzParsePath(f *testing.F) {
	f.Add("<user@example.org>", false)
	f.Fuzz(func(t *testing.T, s string, utf8 bool) {
		p, err := ParsePath(s, PathOptions{UTF8: utf8, Null: true, Postmaster: true})
		if err != nil {
			if _, ok := ReplyOf(err); !ok {
				t.Fatalf("%q: error %v is not a reply", s, err)
			}
			return
		}
		if len(s) > MaxPath || len(p.Domain) > MaxDomain {
			t.Fatalf("%q: accepted beyond the limits", s)
		}
		if p.UTF8() && !utf8 {
			t.Fatalf("%q: non-ASCII accepted without SMTPUTF8", s)
		}
		if !p.IsNull() && !p.IsPostmaster() {
			checkPathRoundTrip(t, p)
		}
	})
}

func checkPathRoundTrip(t *testing.T, p Path) {
	t.Helper()
	s := p.String()
	q, err := ParsePath("<"+s+">", PathOptions{UTF8: true})
	if err != nil {
		// The canonical form may need quotes the original did not, and so
		// exceed the local-part limit; that is the only excuse.
		if len(s) <= MaxLocalPart {
			t.Fatalf("%+v: canonical form %q does not parse: %v", p, s, err)
		}
		return
	}
	if q.Local != p.Local || q.Domain != p.Domain || q.IPLiteral != p.IPLiteral {
		t.Fatalf("%+v: canonical form %q parses as %+v", p, s, q)
	}
}

// FuzzDataReader: the reader agrees with the line-at-a-time reference on
// where the data ends, whether it is refused and what text it yields.
func FuzzDataReader(f *testing.F) {
	f.Add([]byte("a\r\n.\r\nNEXT"), uint16(0), uint16(0), uint8(16))
	f.Fuzz(func(t *testing.T, in []byte, maxLine, maxSize uint16, bufSize uint8) {
		ml := int(maxLine)
		if ml > 0 && ml < 3 {
			ml = 3 // the end line itself must fit
		}
		want, bad, used, eof := refData(in, true, ml, int64(maxSize))
		r := bufio.NewReaderSize(bytes.NewReader(in), 16+int(bufSize))
		got, err := readAll(NewDataReader(r, ml, int64(maxSize)), 1+int(bufSize)%7)
		switch {
		case eof:
			if err != io.ErrUnexpectedEOF {
				t.Fatalf("%q: err = %v, want unexpected EOF", in, err)
			}
			return
		case bad != (err != nil):
			t.Fatalf("%q: err = %v, reference refuses: %v", in, err, bad)
		case !bad && !bytes.Equal(got, want):
			t.Fatalf("%q: text %q, reference %q", in, got, want)
		}
		rest, _ := io.ReadAll(r)
		if !bytes.Equal(rest, in[used:]) {
			t.Fatalf("%q: left %q, want %q", in, rest, in[used:])
		}
	})
}

// FuzzBDATReader: the chunked reader agrees with the reference however the
// message is cut, and stays in step.
func FuzzBDATReader(f *testing.F) {
	f.Add([]byte("a\r\n.\r\nb"), uint16(3))
	f.Fuzz(func(t *testing.T, msg []byte, cut uint16) {
		c := int(cut) % (len(msg) + 1)
		want, bad, _, _ := refData(msg, false, 0, 0)
		got, err := readBDAT(t, msg, []int{c}, 0, 0)
		if bad != (err != nil) || (!bad && !bytes.Equal(got, want)) {
			t.Fatalf("%q cut %d: %q, %v; reference %q, refused %v", msg, c, got, err, want, bad)
		}
	})
}

// FuzzDataWriter: whatever the writer accepts reads back unchanged but for
// line endings, and the end marker is found exactly where it was written.
func FuzzDataWriter(f *testing.F) {
	f.Add([]byte(".a\n.\r\nb"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		var wire bytes.Buffer
		w := NewDataWriter(bufio.NewWriter(&wire))
		_, err := w.Write(msg)
		if err == nil {
			err = w.Close()
		}
		if err != nil {
			if err != ErrMessageBareCR {
				t.Fatalf("%q: %v", msg, err)
			}
			return
		}
		wire.WriteString("NEXT")
		r := bufio.NewReaderSize(&wire, 16)
		got, err := io.ReadAll(NewDataReader(r, 0, 0))
		want := bytes.ReplaceAll(bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
		if len(want) > 0 && !bytes.HasSuffix(want, []byte("\r\n")) {
			want = append(want, "\r\n"...)
		}
		rest, _ := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, want) || string(rest) != "NEXT" {
			t.Fatalf("%q: read back %q, %v, rest %q", msg, got, err, rest)
		}
	})
}

// FuzzReadReply: never panics, never reads past the reply it returns, and
// a reply it accepts survives writing and reading again.
func FuzzReadReply(f *testing.F) {
	f.Add([]byte("250-mx.example\r\n250 SIZE 10\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(in), 16)
		rep, lines, err := ReadReply(r)
		if err != nil {
			return
		}
		if len(lines) == 0 || len(lines) > MaxReplyLines || rep.Code < 200 || rep.Code > 599 {
			t.Fatalf("%q: accepted %+v with %d lines", in, rep, len(lines))
		}
		ParseEHLO(lines)
	})
}
