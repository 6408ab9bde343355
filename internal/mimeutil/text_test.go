package mimeutil

import (
	"slices"
	"testing"
)

func TestSplitMultipart(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		max    int
		want   []string
		closed bool
	}{
		{"two parts", "preamble\r\n--b\r\none\r\n--b\r\ntwo\r\n--b--\r\nepilogue", 10, []string{"one", "two"}, true},
		{"LF endings", "--b\none\n--b--\n", 10, []string{"one"}, true},
		{"no close delimiter", "--b\r\none\r\n--b\r\ntwo\r\n", 10, []string{"one", "two\r\n"}, false},
		{"boundary never found", "just text\r\n", 10, nil, false},
		{"delimiter with trailing space", "--b  \r\none\r\n--b-- \r\n", 10, []string{"one"}, true},
		{"a longer boundary is another", "--b\r\none\r\n--bb\r\nstill one\r\n--b--", 10, []string{"one\r\n--bb\r\nstill one"}, true},
		{"at most max", "--b\r\n1\r\n--b\r\n2\r\n--b\r\n3\r\n--b--", 2, []string{"1", "2"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, closed := SplitMultipart([]byte(tt.body), "b", tt.max)
			var got []string
			for _, p := range parts {
				got = append(got, string(p))
			}
			if !slices.Equal(got, tt.want) || closed != tt.closed {
				t.Errorf("got %q closed %v, want %q closed %v", got, closed, tt.want, tt.closed)
			}
		})
	}
}

func TestCutUTF8AndCleanText(t *testing.T) {
	for _, tt := range []struct {
		s    string
		n    int
		want string
	}{{"héllo", 2, "h"}, {"héllo", 3, "hé"}, {"abc", 5, "abc"}, {"abc", 0, ""}, {"€", 2, ""}} {
		if got := CutUTF8(tt.s, tt.n); got != tt.want {
			t.Errorf("CutUTF8(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
	if got := CleanText("a\x00b\xffc"); got != "ab\uFFFDc" {
		t.Errorf("CleanText = %q", got)
	}
}
