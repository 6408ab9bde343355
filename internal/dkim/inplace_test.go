package dkim

import (
	"bufio"
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
)

// TestHeaderInPlace: a header section all in CRLF lines within the bound
// is found in place, as ReadHeader reads it, its fields slices of the
// message; anything else is left to ReadHeader.
func TestHeaderInPlace(t *testing.T) {
	long := strings.Repeat("X-Filler: "+strings.Repeat("f", 90)+"\r\n", 1000) // 100 KiB: past a 64 KiB read buffer
	tests := []struct {
		name, msg string
		max       int
		ok        bool
	}{
		{"usual", "From: a@example.com\r\nTo: b\r\n folded\r\n\r\nbody\r\n", 0, true},
		{"no body", "From: a@example.com\r\nSubject: x\r\n\r\n", 0, true},
		{"body with bare LF", "From: a@example.com\r\n\r\nline\nline\r\n", 0, true},
		{"continuation first", " lead\r\nA: 1\r\n\r\n", 0, true},
		{"header past a read buffer", long + "From: a@example.com\r\n\r\nbody\r\n", 0, true},
		{"empty line at the bound", "A: 1\r\n\r\nbody", 8, true},
		{"empty line past the bound", "A: 1\r\n\r\nbody", 7, false},
		{"bare LF in the header", "From: a@example.com\nSubject: x\r\n\r\nbody\r\n", 0, false},
		{"empty line a bare LF", "From: a@example.com\r\n\nbody\r\n", 0, false},
		{"no empty line", "From: a@example.com\r\nSubject: x\r\n", 0, false},
		{"no line end", "From: a@example.com", 0, false},
		{"empty header", "\r\nbody\r\n", 0, false},
		{"empty", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := []byte(tt.msg)
			h, body, ok := HeaderInPlace(msg, tt.max, nil)
			if ok != tt.ok {
				t.Fatalf("ok %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			max := tt.max
			if max <= 0 {
				max = MaxHeaderSize
			}
			r := bufio.NewReader(bytes.NewReader(msg))
			want, err := ReadHeader(r, max)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(h, want) {
				t.Errorf("fields %q, ReadHeader %q", h, want)
			}
			wantBody, _ := io.ReadAll(r)
			if !bytes.Equal(body, wantBody) {
				t.Errorf("body %q, ReadHeader left %q", body, wantBody)
			}
			// In place: the fields and the body are the message's bytes.
			for _, f := range h {
				if !inside(f.Raw, msg) {
					t.Errorf("field %q is a copy", f.Raw)
				}
			}
			if len(body) > 0 && !inside(body, msg) {
				t.Errorf("the body is a copy")
			}
		})
	}
}

// inside reports whether b is a part of msg's array.
func inside(b, msg []byte) bool {
	for i := range msg {
		if &msg[i] == &b[0] {
			return i+len(b) <= len(msg)
		}
	}
	return false
}
