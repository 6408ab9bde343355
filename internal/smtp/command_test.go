package smtp

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// formatCommand renders a parse result for golden files.
func formatCommand(c Command, err error) string {
	if err != nil {
		return "error " + err.Error()
	}
	var b strings.Builder
	b.WriteString(c.Verb)
	if c.Arg != "" {
		fmt.Fprintf(&b, " arg=%q", c.Arg)
	}
	if c.Verb == VerbMAIL || c.Verb == VerbRCPT {
		fmt.Fprintf(&b, " path=%q local=%q quoted=%v domain=%q", c.Path.String(), c.Path.Local, c.Path.Quoted, c.Path.Domain)
		if c.Path.IPLiteral.IsValid() {
			fmt.Fprintf(&b, " ip=%s", c.Path.IPLiteral)
		}
		if c.Path.HadRoute {
			b.WriteString(" route")
		}
		for _, p := range c.Params {
			fmt.Fprintf(&b, " param[%s]=%q", p.Keyword, p.Value)
		}
	}
	if c.Verb == VerbBDAT {
		fmt.Fprintf(&b, " size=%d last=%v", c.Size, c.Last)
	}
	if c.Verb == VerbAUTH {
		fmt.Fprintf(&b, " mech=%s", c.Mechanism)
		if c.HasInitialResponse {
			fmt.Fprintf(&b, " ir=%q", c.InitialResponse)
		}
	}
	return b.String()
}

func TestParseCommandGolden(t *testing.T) {
	in, err := os.ReadFile("testdata/commands.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for line := range strings.SplitSeq(strings.TrimSuffix(string(in), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		raw := line
		if strings.HasPrefix(line, `"`) {
			if raw, err = strconv.Unquote(line); err != nil {
				t.Fatalf("bad quoted line %s: %v", line, err)
			}
		}
		cmd, err := ParseCommand([]byte(raw))
		fmt.Fprintf(&out, "%q\n\t%s\n", raw, formatCommand(cmd, err))
	}
	compareGolden(t, "testdata/commands.golden", out.Bytes())
}

// compareGolden compares got with the golden file, writing got beside it
// as .got for review when they differ, or over it with -update.
func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		os.WriteFile(path+".got", got, 0o644)
		t.Errorf("%s differs from the result; see %s.got", path, path)
		return
	}
	os.Remove(path + ".got")
}

func TestParseCommandUTF8(t *testing.T) {
	line := []byte("RCPT TO:<jörg@bücher.example> ORCPT=utf-8;jörg@bücher.example")
	if _, err := ParseCommand(line); err == nil {
		t.Error("ParseCommand accepted a UTF-8 RCPT")
	}
	c, err := ParseCommandUTF8(line)
	if err != nil {
		t.Fatalf("ParseCommandUTF8: %v", err)
	}
	if c.Path.Local != "jörg" || c.Path.Domain != "bücher.example" {
		t.Errorf("path = %+v", c.Path)
	}
}

func TestMailRelayTricks(t *testing.T) {
	// What the relay check in the server sees for the classic tricks: the
	// domain to decide on must be exactly the one written after the last
	// unquoted "@", and a quoted local part must be flagged.
	tests := []struct {
		line   string
		domain string // "" means refused
		quoted bool
	}{
		{`RCPT TO:<"victim@evil.example"@ours.example>`, "ours.example", true},
		{`RCPT TO:<victim%evil.example@ours.example>`, "ours.example", false},
		{`RCPT TO:<@ours.example:victim@evil.example>`, "evil.example", false},
		{`RCPT TO:<victim@evil.example@ours.example>`, "", false},
		{`RCPT TO:<victim@ours.example,other@evil.example>`, "", false},
		{`RCPT TO:<victim@ours.example> <other@evil.example>`, "", false},
		{`RCPT TO:<victim>`, "", false},
		{`RCPT TO:victim@evil.example`, "", false},
		{`RCPT TO:<victim@evil.example.>`, "", false},
		{`RCPT TO:<"victim"@evil.example>`, "evil.example", true},
	}
	for _, tt := range tests {
		c, err := ParseCommand([]byte(tt.line))
		if tt.domain == "" {
			if err == nil {
				t.Errorf("%s: accepted as %+v", tt.line, c.Path)
			}
			continue
		}
		if err != nil || c.Path.Domain != tt.domain || c.Path.Quoted != tt.quoted {
			t.Errorf("%s: got %+v, %v; want domain %q quoted %v", tt.line, c.Path, err, tt.domain, tt.quoted)
		}
	}
}

func TestXtext(t *testing.T) {
	tests := []struct {
		enc, dec string
		ok       bool
	}{
		{"abc", "abc", true},
		{"a+2Bb+3Dc", "a+b=c", true},
		{"+20", " ", true},
		{"", "", true},
		{"a+2b", "", false},
		{"a+2", "", false},
		{"a+", "", false},
		{"a=b", "", false},
		{"a b", "", false},
		{"a\x00", "", false},
		{"+GG", "", false},
	}
	for _, tt := range tests {
		got, err := DecodeXtext(tt.enc)
		if (err == nil) != tt.ok || got != tt.dec {
			t.Errorf("DecodeXtext(%q) = %q, %v", tt.enc, got, err)
		}
		if tt.ok && EncodeXtext(tt.dec) != tt.enc {
			t.Errorf("EncodeXtext(%q) = %q, want %q", tt.dec, EncodeXtext(tt.dec), tt.enc)
		}
	}
	for i := range 256 {
		s := string([]byte{byte(i), 'x'})
		if d, err := DecodeXtext(EncodeXtext(s)); err != nil || d != s {
			t.Errorf("round trip of byte %#x: %q, %v", i, d, err)
		}
	}
}

func TestParamsString(t *testing.T) {
	ps := Params{{Keyword: "SIZE", Value: "10"}, {Keyword: "SMTPUTF8"}}
	if got := ps.String(); got != " SIZE=10 SMTPUTF8" {
		t.Errorf("String() = %q", got)
	}
	c, err := ParseCommand([]byte("MAIL FROM:<a@example.org>" + ps.String()))
	if err != nil || len(c.Params) != 2 || c.Params[1] != ps[1] {
		t.Errorf("round trip: %+v, %v", c.Params, err)
	}
}

func TestReadLine(t *testing.T) {
	long := strings.Repeat("x", 600)
	in := "EHLO a\r\n" + long + "\r\nNOOP\nQUIT\r\n" + strings.Repeat("y", 5000) + "\r\nRSET\r\npartial"
	type res struct {
		line string
		err  error
	}
	want := []res{
		{"EHLO a", nil},
		{"", ErrLineTooLong},
		{"NOOP", ErrBareLF},
		{"QUIT", nil},
		{"", ErrLineTooLong},
		{"RSET", nil},
	}
	for _, size := range []int{16, 64, 4096} {
		r := bufio.NewReaderSize(strings.NewReader(in), size)
		for i, w := range want {
			line, err := ReadLine(r, MaxCommandLine)
			if string(line) != w.line || err != w.err {
				t.Errorf("size %d, line %d: %q, %v; want %q, %v", size, i, line, err, w.line, w.err)
			}
		}
		if _, err := ReadLine(r, MaxCommandLine); err == nil || err.Error() != "unexpected EOF" {
			t.Errorf("size %d: partial last line: %v", size, err)
		}
	}
	// Exactly at the limit, CRLF included; one more is too long.
	for _, n := range []int{MaxCommandLine - 2, MaxCommandLine - 1} {
		r := bufio.NewReaderSize(strings.NewReader(strings.Repeat("z", n)+"\r\n"), 16)
		_, err := ReadLine(r, MaxCommandLine)
		if (n == MaxCommandLine-2) != (err == nil) {
			t.Errorf("line of %d octets + CRLF: %v", n, err)
		}
	}
}
