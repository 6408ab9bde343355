package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestReplyWriteTo(t *testing.T) {
	tests := []struct {
		r    Reply
		wire string
	}{
		{Reply{Code: 250, Enhanced: "2.0.0", Text: "OK"}, "250 2.0.0 OK\r\n"},
		{Reply{Code: 250, Text: "mx.example\nPIPELINING\nSIZE 1000"}, "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"},
		{Reply{Code: 550, Enhanced: "5.7.1", Text: "one\ntwo"}, "550-5.7.1 one\r\n550 5.7.1 two\r\n"},
		{Reply{Code: 354, Text: "End data with <CR><LF>.<CR><LF>"}, "354 End data with <CR><LF>.<CR><LF>\r\n"},
		{Reply{Code: 221, Enhanced: "2.0.0"}, "221 2.0.0\r\n"},
		{Reply{Code: 250}, "250 \r\n"},
		{Reply{Code: 550, Text: "a\rb\x00c"}, "550 a b c\r\n"},
		{Reply{Code: 0, Text: "bug"}, "451 bug\r\n"},
		{Reply{Code: 600, Text: "bug"}, "451 bug\r\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		n, err := tt.r.WriteTo(&b)
		if err != nil || b.String() != tt.wire || n != int64(b.Len()) {
			t.Errorf("%+v: wrote %q (%d), %v; want %q", tt.r, b.String(), n, err, tt.wire)
		}
	}
}

func TestReplyError(t *testing.T) {
	err := fmt.Errorf("rcpt: %w", &Reply{Code: 550, Enhanced: "5.1.1", Text: "No such user\nreally"})
	r, ok := ReplyOf(err)
	if !ok || r.Code != 550 {
		t.Fatalf("ReplyOf = %v, %v", r, ok)
	}
	if got := err.Error(); got != "rcpt: 550 5.1.1 No such user / really" {
		t.Errorf("Error() = %q", got)
	}
	if _, ok := ReplyOf(errors.New("x")); ok {
		t.Error("ReplyOf found a reply in a plain error")
	}
	if !errors.Is(fmt.Errorf("x: %w", ErrTooLarge), ErrTooLarge) {
		t.Error("errors.Is fails on a wrapped sentinel")
	}
}

func TestReadReply(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  Reply
		lines []string
		err   bool
	}{
		{"single", "250 2.1.0 Sender OK\r\n", Reply{250, "2.1.0", "Sender OK"}, []string{"2.1.0 Sender OK"}, false},
		{"no text", "250\r\n", Reply{250, "", ""}, []string{""}, false},
		{"multi", "250-mx.example greets\r\n250-PIPELINING\r\n250 SIZE 100\r\n", Reply{250, "", "mx.example greets\nPIPELINING\nSIZE 100"}, []string{"mx.example greets", "PIPELINING", "SIZE 100"}, false},
		{"multi enhanced", "550-5.7.1 one\r\n550 5.7.1 two\r\n", Reply{550, "5.7.1", "one\ntwo"}, []string{"5.7.1 one", "5.7.1 two"}, false},
		{"class mismatch", "550 2.0.0 odd\r\n", Reply{550, "", "2.0.0 odd"}, []string{"2.0.0 odd"}, false},
		{"bare LF tolerated", "220 hi\n", Reply{220, "", "hi"}, []string{"hi"}, false},
		{"code changes", "250-a\r\n251 b\r\n", Reply{}, nil, true},
		{"bad code", "abc hi\r\n", Reply{}, nil, true},
		{"code 1xx", "150 hi\r\n", Reply{}, nil, true},
		{"bad separator", "250_hi\r\n", Reply{}, nil, true},
		{"eof", "250-a\r\n", Reply{}, nil, true},
		{"too long", "250 " + strings.Repeat("x", MaxReplyLine) + "\r\n", Reply{}, nil, true},
		{"too many lines", strings.Repeat("250-x\r\n", MaxReplyLines) + "250 x\r\n", Reply{}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tt.in+"NEXT"), 16)
			got, lines, err := ReadReply(r)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			if got != tt.want || !reflect.DeepEqual(lines, tt.lines) {
				t.Errorf("got %+v %q, want %+v %q", got, lines, tt.want, tt.lines)
			}
			rest, _ := r.Peek(4)
			if string(rest) != "NEXT" {
				t.Errorf("read past the reply: %q", rest)
			}
		})
	}
}

func TestReplyRoundTrip(t *testing.T) {
	for _, rep := range []Reply{
		{Code: 250, Enhanced: "2.0.0", Text: "OK"},
		{Code: 550, Enhanced: "5.1.1", Text: "a\nb\nc"},
		{Code: 220, Text: "mx.example ESMTP"},
	} {
		var b bytes.Buffer
		rep.WriteTo(&b)
		got, _, err := ReadReply(bufio.NewReader(&b))
		if err != nil || got != rep {
			t.Errorf("%+v read back as %+v, %v", rep, got, err)
		}
	}
}

func TestParseEHLO(t *testing.T) {
	in := "250-mx.example.org Hello client\r\n250-PIPELINING\r\n250-size 35882577\r\n250-8BITMIME\r\n" +
		"250-AUTH PLAIN login\r\n250-AUTH=XOAUTH2\r\n250-ENHANCEDSTATUSCODES\r\n250-bad_keyword x\r\n250 STARTTLS\r\n"
	_, lines, err := ReadReply(bufio.NewReader(strings.NewReader(in)))
	if err != nil {
		t.Fatal(err)
	}
	e := ParseEHLO(lines)
	if e.Domain != "mx.example.org" {
		t.Errorf("Domain = %q", e.Domain)
	}
	for _, kw := range []string{"pipelining", "SIZE", "8bitmime", "Auth", "STARTTLS", "ENHANCEDSTATUSCODES"} {
		if !e.Has(kw) {
			t.Errorf("Has(%q) = false", kw)
		}
	}
	for _, kw := range []string{"SMTPUTF8", "BAD_KEYWORD", "HELLO", "MX.EXAMPLE.ORG"} {
		if e.Has(kw) {
			t.Errorf("Has(%q) = true", kw)
		}
	}
	if n, ok := e.Size(); !ok || n != 35882577 {
		t.Errorf("Size() = %d, %v", n, ok)
	}
	if m := e.AuthMechanisms(); !reflect.DeepEqual(m, []string{"PLAIN", "LOGIN", "XOAUTH2"}) {
		t.Errorf("AuthMechanisms() = %q", m)
	}
	if p := e.Params("size"); !reflect.DeepEqual(p, []string{"35882577"}) {
		t.Errorf("Params(size) = %q", p)
	}
	if n, ok := ParseEHLO([]string{"x", "SIZE"}).Size(); !ok || n != 0 {
		t.Errorf("SIZE without a value: %d, %v", n, ok)
	}
	if _, ok := ParseEHLO(nil).Size(); ok {
		t.Error("Size() on nothing")
	}
}
