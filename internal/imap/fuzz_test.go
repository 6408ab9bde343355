package imap

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

// Seeds live in testdata/fuzz/<FuzzName>/; f.Add adds a few more inline.

func FuzzReadCommand(f *testing.F) {
	f.Add([]byte("a1 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From)]<0.10>)\r\n"))
	f.Add([]byte("a APPEND INBOX (\\Seen) {3+}\r\nabc ~{2}\r\nxy\r\nb NOOP\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bufio.NewReaderSize(bytes.NewReader(data), 16),
			Limits{MaxLine: 1024, MaxCommand: 4096, MaxLiteral: 512, MaxAppend: 2048},
			func(LiteralInfo) error { return nil })
		// Every command consumes at least one byte, so this ends.
		for range len(data) + 1 {
			cmd, err := r.ReadCommand()
			if err != nil {
				var se *SyntaxError
				var le *LiteralError
				switch {
				case errors.As(err, &se) && !se.Close:
					continue
				case errors.As(err, &le) && !le.NonSync:
					continue
				}
				return
			}
			if cmd.Tag == "" || cmd.Name == "" {
				t.Fatalf("command without tag or name: %+v", cmd)
			}
			if a, ok := cmd.Args.(*AppendArgs); ok {
				for range 16 {
					m, err := a.Next()
					if err != nil {
						break
					}
					n, err := io.Copy(io.Discard, m.Body)
					if err == nil && n != m.Size {
						t.Fatalf("body of %d bytes, announced %d", n, m.Size)
					}
				}
			}
		}
	})
}

func FuzzSeqSet(f *testing.F) {
	for _, s := range []string{"1:5,7,9:*", "*", "$", "4294967295:1", "3,2,1"} {
		f.Add(s, uint32(10))
	}
	f.Fuzz(func(t *testing.T, s string, largest uint32) {
		set, err := ParseSeqSet(s)
		if err != nil {
			return
		}
		out := set.String()
		again, err := ParseSeqSet(out)
		if err != nil || again.String() != out {
			t.Fatalf("%q formats as %q, which parses as %q, %v", s, out, again.String(), err)
		}
		largest %= 300
		r := set.Resolve(largest)
		var got uint64
		for n := range set.All(largest) {
			if !r.Contains(n) || n > largest || n == 0 {
				t.Fatalf("%q.All(%d) yielded %d", s, largest, n)
			}
			got++
		}
		if got != set.Count(largest) {
			t.Fatalf("%q: All yielded %d, Count says %d", s, got, set.Count(largest))
		}
		for n := uint32(1); n <= largest; n++ {
			if r.Contains(n) && got == 0 {
				t.Fatalf("%q resolved to %q contains %d but All yields nothing", s, r, n)
			}
		}
	})
}

func FuzzUTF7(f *testing.F) {
	for _, s := range []string{"Entwürfe", "&", "台北", "😀x&y", "&AMQ-rger", "&-", "&2D3eAA-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if utf8.ValidString(s) {
			enc := EncodeMailboxUTF7(s)
			dec, err := DecodeMailboxUTF7(enc)
			if err != nil || dec != s {
				t.Fatalf("%q encodes as %q, decodes as %q, %v", s, enc, dec, err)
			}
		}
		if dec, err := DecodeMailboxUTF7(s); err == nil {
			if enc := EncodeMailboxUTF7(dec); enc != s {
				t.Fatalf("%q decodes as %q, which encodes as %q", s, dec, enc)
			}
		}
	})
}

func FuzzSearchKey(f *testing.F) {
	for _, s := range []string{
		"OR FROM a (TO b CC c) NOT DELETED",
		`MODSEQ "/flags/\\draft" all 620162338`,
		"CHARSET UTF-8 SUBJECT \"x\" SINCE 1-Feb-2024 1:*,$",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, keys, err := ParseSearchKeys(s, Limits{MaxDepth: 8})
		if err != nil {
			return
		}
		if len(keys) == 0 {
			t.Fatal("no keys and no error")
		}
		for _, k := range keys {
			if d := keyDepth(k); d > 9 {
				t.Fatalf("depth %d passed a limit of 8", d)
			}
		}
	})
}

func keyDepth(k SearchKey) int {
	d := 0
	for _, c := range k.Keys {
		d = max(d, keyDepth(c))
	}
	return d + 1
}
