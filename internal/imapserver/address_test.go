package imapserver

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseAddresses(t *testing.T) {
	g := func(name string) address { return address{groupStart: true, local: name} }
	end := address{groupEnd: true}
	tests := []struct {
		in   string
		want []address
	}{
		{"user@domain.org", []address{{local: "user", domain: "domain.org"}}},
		{"Real Name <user@domain.org>", []address{{name: "Real Name", local: "user", domain: "domain.org"}}},
		{`"Last, First" <u@d>`, []address{{name: "Last, First", local: "u", domain: "d"}}},
		{"user@domain.org (Real Name)", []address{{name: "Real Name", local: "user", domain: "domain.org"}}},
		{"<user (c)@ (c) domain.org>", []address{{local: "user", domain: "domain.org"}}},
		{"<@route,@other:user@domain>", []address{{local: "user", domain: "domain"}}},
		{"d", []address{{local: "d"}}},
		{"a@b, c@d", []address{{local: "a", domain: "b"}, {local: "c", domain: "d"}}},
		{"=?iso-8859-1?q?foo_b=E4r?= <e@f.g>", []address{{name: "foo bär", local: "e", domain: "f.g"}}},
		{"group: a@b, c@d;, x@y", []address{g("group"), {local: "a", domain: "b"}, {local: "c", domain: "d"}, end, {local: "x", domain: "y"}}},
		{"empty:;", []address{g("empty"), end}},
		{"open: a@b", []address{g("open"), {local: "a", domain: "b"}, end}},
		{"first.last@example.org", []address{{local: "first.last", domain: "example.org"}}},
		{`"unterminated <a@b>`, []address{{local: "unterminated <a@b>"}}},
		{"", nil},
		{" , ,", nil},
	}
	for _, tc := range tests {
		if got := parseAddresses(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseAddresses(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestAddressMatches(t *testing.T) {
	tests := []struct {
		v, sub string
		want   bool
	}{
		{"RealFrom <user-from@domain.org>", "realfrom", true},
		{"RealFrom <user-from@domain.org>", "user-from@domain.org", true},
		{"RealFrom <user-from@domain.org>", "from <user", true},
		{"<user-from (comment)@ (comment) domain.org>", "user-from@domain.org", true},
		{"user-from@domain.org (RealFrom)", "ealfro", true},
		{"groupname: groupuser1@domain.org;", "groupname", true},
		{"groupname: groupuser1@domain.org;", "groupuser4", false},
		{"a@b", "c", false},
		{"not an address at all:", "not an", true},
	}
	for _, tc := range tests {
		if got := addressMatches(tc.v, tc.sub); got != tc.want {
			t.Errorf("addressMatches(%q, %q) = %v", tc.v, tc.sub, got)
		}
	}
}

// FuzzParseAddresses checks that any header value parses without
// panicking, into entries that are each a mailbox or a group's bounds.
func FuzzParseAddresses(f *testing.F) {
	for _, s := range []string{"a@b", "Name <a@b>", "g: a@b, (c) d@e;", `"x\" <y>`, "((a)", "<@r:a@b>", "=?utf-8?q?x?= <a@b>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		depth := 0
		for _, a := range parseAddresses(v) {
			switch {
			case a.groupStart:
				depth++
			case a.groupEnd:
				depth--
			case a.local == "" && a.domain == "":
				t.Fatalf("empty mailbox from %q", v)
			}
			if depth < 0 || depth > 1 {
				t.Fatalf("unbalanced groups from %q", v)
			}
		}
		addressMatches(v, strings.ToLower(v))
	})
}
