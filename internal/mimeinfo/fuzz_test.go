package mimeinfo

import (
	"reflect"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(crlf(nested)))
	f.Add([]byte("Content-Type: multipart/digest; boundary=a\n\n--a\n\nFrom: x@y\n\nb\n--a--\n"))
	f.Add([]byte("To: g: a@b, <@r:c@d>;, (c) e@f\n\nbody"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(strings.NewReader(string(data)))
		if err != nil {
			t.Fatal(err)
		}
		var check func(p *Part, lo, hi int64)
		check = func(p *Part, lo, hi int64) {
			// An empty body may start after its end, by a line end.
			if p.Start < lo || p.BodyStart < p.Start || p.End < p.Start || p.End > hi || p.BodyStart > p.End+2 || p.Lines < 0 {
				t.Fatalf("part out of bounds [%d,%d]: %+v", lo, hi, p)
			}
			for _, c := range p.Parts {
				check(c, p.BodyStart, p.End)
			}
			if p.Message != nil {
				check(p.Message, min(p.BodyStart, p.End), p.End)
			}
		}
		check(s.Root, 0, int64(len(data)))
		got, err := Decode(s.Encode())
		if err != nil || !reflect.DeepEqual(got, s) {
			t.Fatalf("round trip: %v", err)
		}
		// One byte at a time gives the same summary.
		one := NewSummarizer()
		for i := range data {
			one.Write(data[i : i+1])
		}
		if !reflect.DeepEqual(one.Summary(), s) {
			t.Fatal("byte-at-a-time summary differs")
		}
	})
}

func FuzzDecode(f *testing.F) {
	s, _ := Parse(strings.NewReader(crlf(nested)))
	f.Add(s.Encode())
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := Decode(data); err == nil {
			if _, err := Decode(s.Encode()); err != nil {
				t.Fatalf("re-encoded summary does not decode: %v", err)
			}
		}
	})
}

func FuzzAddressList(f *testing.F) {
	for _, s := range []string{"a@b", `"x, y" <a@b>, g: c@d, <@r,@s:e@f>;`, "(c (d)) e@f (g)", "<>", "a@[1.2.3.4]",
		"Name <a@b>", "g: a@b, (c) d@e;", `"x\" <y>`, "((a)", "<@r:a@b>", "=?utf-8?q?x?= <a@b>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		depth := 0
		for _, a := range ParseAddressList(s) {
			if a.GroupStart() == a.GroupEnd() && a.Group {
				t.Fatalf("group marker neither start nor end: %+v", a)
			}
			a.Display()
			switch {
			case a.Group && a.Host == "" && a.Mailbox != "":
				depth++
			case a.Group:
				if a.Name != "" || a.Route != "" || a.Mailbox != "" || a.Host != "" {
					t.Fatalf("group marker with fields: %+v", a)
				}
				depth--
			case a.Mailbox == "" || a.Host == "":
				t.Fatalf("address without mailbox or host: %+v", a)
			}
			if depth < 0 || depth > 1 {
				t.Fatalf("groups unbalanced in %q", s)
			}
		}
	})
}
