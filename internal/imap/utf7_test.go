package imap

import (
	"errors"
	"testing"
)

func TestMailboxUTF7(t *testing.T) {
	tests := []struct{ utf8, utf7 string }{
		{"INBOX", "INBOX"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"&", "&-"},
		{"A&B", "A&-B"},
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"Ärger", "&AMQ-rger"},
		{"😀", "&2D3eAA-"},
		{"a\tb", "a&AAk-b"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := EncodeMailboxUTF7(tt.utf8); got != tt.utf7 {
			t.Errorf("Encode(%q) = %q, want %q", tt.utf8, got, tt.utf7)
		}
		got, err := DecodeMailboxUTF7(tt.utf7)
		if err != nil || got != tt.utf8 {
			t.Errorf("Decode(%q) = %q, %v; want %q", tt.utf7, got, err, tt.utf8)
		}
	}
}

func TestMailboxUTF7Invalid(t *testing.T) {
	for _, s := range []string{
		"&",           // unterminated
		"&AMQ",        // unterminated
		"&AGE-",       // encodes printable ASCII "a"
		"&AMQ-&AMQ-",  // adjacent runs
		"&AMQA-",      // non-zero padding bits
		"&2D0-",       // lone high surrogate
		"&3gA-",       // lone low surrogate
		"&AM/-",       // "/" is not modified base64
		"caf\xc3\xa9", // raw 8-bit
		"a\tb",        // control character
		"&A-",         // too short
	} {
		if got, err := DecodeMailboxUTF7(s); !errors.Is(err, ErrBadUTF7) {
			t.Errorf("Decode(%q) = %q, %v; want ErrBadUTF7", s, got, err)
		}
	}
}
