package corpus

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/split.tsv from the conformance corpora")

func TestReadMbox(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
		err  error
	}{
		{
			name: "two messages",
			in:   "From a@b Sat Jan  1 00:00:00 2005\nSubject: one\n\nbody\n>From here\n>>From there\n> From not\n\nFrom c@d Sun Jan  2 00:00:00 2005\nSubject: two\n\nb2\n\n",
			want: []string{"Subject: one\n\nbody\nFrom here\n>From there\n> From not\n", "Subject: two\n\nb2\n"},
		},
		{
			name: "no final blank line",
			in:   "From x\nA: b\n\nc",
			want: []string{"A: b\n\nc"},
		},
		{
			name: "crlf",
			in:   "From x\r\nA: b\r\n\r\nc\r\n\r\nFrom y\r\nD: e\r\n",
			want: []string{"A: b\r\n\r\nc\r\n", "D: e\r\n"},
		},
		{
			name: "empty message",
			in:   "From x\nFrom y\nA: b\n",
			want: []string{"", "A: b\n"},
		},
		{name: "empty", in: "", want: nil},
		{name: "not mbox", in: "Subject: x\n\nFrom y\n", err: ErrNotMbox},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := ReadMbox(strings.NewReader(tt.in), func(i int, raw []byte) error {
				if i != len(got)+1 {
					t.Errorf("message numbered %d, want %d", i, len(got)+1)
				}
				got = append(got, string(raw))
				return nil
			})
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestReadMboxStops(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := ReadMbox(strings.NewReader("From a\n\nFrom b\n\nFrom c\n"), func(int, []byte) error {
		n++
		return stop
	})
	if err != stop || n != 1 {
		t.Errorf("err %v after %d messages", err, n)
	}
}

func TestReadLayouts(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("files/b", "Subject: b\n")
	write("files/a", "Subject: a\n")
	write("files/.hidden", "x")
	write("files/sub/c", "Subject: c\n")
	write("md/cur/1:2,S", "Subject: cur\n")
	write("md/new/2", "Subject: new\n")
	write("md/tmp/3", "Subject: tmp\n")
	write("box.mbox", "From x\nSubject: m1\n\nFrom y\nSubject: m2\n")
	write("one.eml", "Subject: single\n")
	tests := []struct {
		path string
		kind Kind
		want []string // name relative to dir = content's subject
	}{
		{"files", Dir, []string{"files/a=a", "files/b=b", "files/sub/c=c"}},
		{"md", Maildir, []string{"md/cur/1:2,S=cur", "md/new/2=new"}},
		{"box.mbox", Mbox, []string{"box.mbox#1=m1", "box.mbox#2=m2"}},
		{"one.eml", File, []string{"one.eml=single"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := filepath.Join(dir, tt.path)
			if k, err := Detect(p); err != nil || k != tt.kind {
				t.Errorf("Detect = %v, %v; want %v", k, err, tt.kind)
			}
			var got []string
			err := Read(p, func(name string, raw []byte) error {
				rel, _ := filepath.Rel(dir, name)
				subj := strings.TrimSpace(strings.TrimPrefix(string(raw), "Subject: "))
				got = append(got, filepath.ToSlash(rel)+"="+subj)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if err := Read(filepath.Join(dir, "missing"), func(string, []byte) error { return nil }); err == nil {
		t.Error("no error for a missing path")
	}
}

func TestSplitOf(t *testing.T) {
	// Hashes chosen by hand: the split is on the first byte of SHA-256.
	for _, tt := range []struct {
		raw  string
		want Split
	}{{"a", Train}, {"b", Test}, {"", Train}} {
		sum := sha256.Sum256([]byte(tt.raw))
		want := Train
		if sum[0] < 77 {
			want = Test
		}
		if want != tt.want {
			t.Fatalf("test table wrong for %q: first byte %d", tt.raw, sum[0])
		}
		if got := SplitOf([]byte(tt.raw)); got != tt.want {
			t.Errorf("SplitOf(%q) = %s, want %s", tt.raw, got, tt.want)
		}
		if !All.In([]byte(tt.raw)) || !tt.want.In([]byte(tt.raw)) {
			t.Errorf("In wrong for %q", tt.raw)
		}
	}
	for _, v := range []string{"train", "test", "all", ""} {
		if _, err := ParseSplit(v); err != nil {
			t.Errorf("ParseSplit(%q): %v", v, err)
		}
	}
	if _, err := ParseSplit("dev"); err == nil {
		t.Error("ParseSplit(dev) accepted")
	}
}

// conformance is the corpora's directory, from this package.
const conformance = "../../../../shared/conformance"

// corpusPaths are the labelled corpora, relative to conformance.
var corpusPaths = []string{
	"spamassassin/easy_ham", "spamassassin/hard_ham", "spamassassin/spam",
	"phishing-nazario/20051114.mbox", "phishing-nazario/phishing0.mbox", "phishing-nazario/phishing1.mbox",
}

// TestRecordedSplit recomputes the split of the conformance corpora and
// compares it with testdata/split.tsv, so that a change to reading or to
// the corpora shows (go test -update rewrites it).
func TestRecordedSplit(t *testing.T) {
	if _, err := os.Stat(conformance); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("corpora missing: %v", err)
		}
		t.Skipf("corpora missing (and CI not set): %v", err)
	}
	var paths []string
	for _, p := range corpusPaths {
		paths = append(paths, filepath.Join(conformance, p))
	}
	entries, err := Entries(conformance, paths...)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteTSV(&buf, entries); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("testdata/split.tsv", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/split.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		got := strings.Split(buf.String(), "\n")
		for i, w := range strings.Split(string(want), "\n") {
			if i >= len(got) || got[i] != w {
				t.Fatalf("split changed at line %d: got %q, recorded %q", i+1, at(got, i), w)
			}
		}
		t.Fatalf("split changed: %d lines, recorded fewer", len(got))
	}
	counts := map[string]int{}
	for _, e := range entries {
		dir, _, _ := strings.Cut(e.Name, "/")
		counts[dir+" "+string(e.Split)]++
	}
	total := len(entries)
	if total != 2500+250+500+1308 {
		t.Errorf("%d messages, want 4558", total)
	}
	test := 0
	for k, n := range counts {
		if strings.HasSuffix(k, " test") {
			test += n
		}
	}
	if frac := float64(test) / float64(total); frac < 0.27 || frac > 0.33 {
		t.Errorf("test split is %.3f of the corpus", frac)
	}
	t.Logf("split: %v", fmt.Sprint(counts))
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}
