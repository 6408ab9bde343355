package dnsx

import (
	"context"
	"strings"
	"testing"
)

func TestZoneTXT(t *testing.T) {
	long := strings.Repeat("k", 300)
	tests := []struct{ text, want string }{
		{"v=spf1 -all", `"v=spf1 -all"`},
		{"", `""`},
		{`say "hi" \o/`, `"say \"hi\" \\o/"`},
		{long, `"` + long[:255] + `" "` + long[255:] + `"`},
	}
	for _, tt := range tests {
		if got := ZoneTXT(tt.text); got != tt.want {
			t.Errorf("ZoneTXT(%q) = %s, want %s", tt.text, got, tt.want)
		}
	}
	// What it writes reads back as the same text.
	zone := NewZone()
	if err := zone.AddDomain("txt.example"); err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		name := strings.Repeat("a", i+1) + ".txt.example."
		if err := zone.Add(name + " TXT " + ZoneTXT(tt.text)); err != nil {
			t.Fatal(err)
		}
		txts, _, err := NewStub(zone, nil).LookupTXT(context.Background(), name)
		if err != nil || len(txts) != 1 || txts[0] != tt.text {
			t.Errorf("%q read back as %q, %v", tt.text, txts, err)
		}
	}
}

// presentation escapes s as the DNS library hands TXT strings over.
func presentation(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			b.WriteString("\\" + string(rune('0'+c/100)) + string(rune('0'+c/10%10)) + string(rune('0'+c%10)))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func FuzzJoinTXT(f *testing.F) {
	f.Add("v=spf1 -all", `\`)
	f.Add("caf\xc3\xa9 \"x\"", `\25`)
	f.Fuzz(func(t *testing.T, text, raw string) {
		if got := joinTXT([]string{presentation(text[:len(text)/2]), presentation(text[len(text)/2:])}); got != text {
			t.Fatalf("joinTXT of %q = %q", text, got)
		}
		joinTXT([]string{raw}) // anything else: no panic
	})
}
