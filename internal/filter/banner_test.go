package filter

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/filter/content"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const testBanner = "Caution: this message claims to be from Bank <service@bank.example> but was sent from x@evil.example.\n- a \"quoted\" reason <b>not markup</b>"

// TestBannerGolden runs each testdata/banner/NAME.msg through AddBanner
// and compares with NAME.golden (NAME.got is written beside it when they
// differ; -update rewrites the golden files). The .readme says what each
// case is about; a case whose golden file equals its input is one the
// banner must leave alone.
func TestBannerGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/banner/*.msg")
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(file, ".msg")
		t.Run(filepath.Base(name), func(t *testing.T) {
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			out, changed := AddBanner(in, testBanner)
			checkBanner(t, in, out, changed, testBanner)
			if *update {
				if err := os.WriteFile(name+".golden", out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(name + ".golden")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, want) {
				os.WriteFile(name+".got", out, 0o644)
				t.Errorf("output differs from %s.golden; see %s.got", name, name)
			}
			if changed == bytes.Equal(in, want) {
				t.Errorf("changed = %v, but the golden file says otherwise", changed)
			}
		})
	}
}

// checkBanner checks what must hold of any banner output: the MIME
// structure is not broken (no flaw content.Parse did not meet in the
// input), the attachments are the same, every line of the original text
// is still there, and the banner shows when the message was changed.
func checkBanner(t testing.TB, in, out []byte, changed bool, banner string) {
	t.Helper()
	if !changed {
		if !bytes.Equal(in, out) {
			t.Fatalf("unchanged, yet the output differs")
		}
		return
	}
	pin, pout := content.Parse(in), content.Parse(out)
	for _, f := range pout.Flaws {
		if !slices.Contains(pin.Flaws, f) {
			t.Fatalf("the banner brought the flaw %q (input flaws %q)\n%s", f, pin.Flaws, out)
		}
	}
	if len(pin.Attachments) != len(pout.Attachments) {
		t.Fatalf("attachments %d, were %d", len(pout.Attachments), len(pin.Attachments))
	}
	for i, a := range pin.Attachments {
		if !bytes.Equal(a.Data, pout.Attachments[i].Data) || a.Name != pout.Attachments[i].Name {
			t.Fatalf("attachment %d changed", i)
		}
	}
	words := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	outText := words(pout.Text)
	for _, line := range strings.Split(pin.Text, "\n") {
		if line = words(line); line != "" && !strings.Contains(outText, line) {
			t.Fatalf("the line %q of the text is lost:\n%s", line, outText)
		}
	}
	first, _, _ := strings.Cut(banner, "\n")
	if !strings.Contains(outText, words(first)) {
		t.Fatalf("no banner in the text:\n%s", outText)
	}
}

func TestInsertHTML(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<p>x</p>", "B<p>x</p>"},
		{"<html><BODY class=a>x</body>", "<html><BODY class=a>Bx</body>"},
		{"<bodyx><body>x", "<bodyx><body>Bx"},
		{"<body", "B<body"},
		{"<body/>x", "<body/>Bx"},
	}
	for _, tt := range tests {
		if got := insertHTML(tt.in, "B"); got != tt.want {
			t.Errorf("insertHTML(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
