package attach

import (
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestCompressed reads bzip2 files the Debian tool made
// (testdata/compressed/README).
func TestCompressed(t *testing.T) {
	tests := []struct {
		file, name string // the test file, and the name it is sent as
		want       []string
		reason     string // a part of every finding's reason
	}{
		{"notes.txt.bz2", "notes.txt.bz2", nil, ""},
		{"invoice.exe.bz2", "invoice.exe.bz2", []string{NameExecutable}, "invoice.exe.bz2/invoice.exe"},
		// Without a name that tells, the content is looked at.
		{"invoice.exe.bz2", "attachment", []string{NameExecutable}, "attachment/(content)"},
		{"invoice.exe.bz2", "", []string{NameExecutable}, "/(content)"},
		{"bundle.tar.bz2", "bundle.tar.bz2", []string{NameExecutable}, "bundle.tar.bz2/bundle.tar/invoice.exe"},
		{"bundle.tar.bz2", "bundle.tbz2", []string{NameExecutable}, "bundle.tbz2/bundle.tar/invoice.exe"},
		// 4 MB of zeros in 49 bytes: a bomb, not read through.
		{"big.bz2", "big.bz2", []string{NameBomb}, "big.bz2"},
	}
	for _, tt := range tests {
		t.Run(tt.file+" as "+tt.name, func(t *testing.T) {
			data, err := os.ReadFile("testdata/compressed/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			fs := Inspect(tt.name, "application/octet-stream", data, Limits{})
			if got, want := findingNames(fs), slices.Sorted(slices.Values(tt.want)); !slices.Equal(got, want) {
				t.Fatalf("findings %v, want %v\n%v", got, want, fs)
			}
			for _, f := range fs {
				if !strings.Contains(f.Reason, tt.reason) {
					t.Errorf("reason %q does not say %q", f.Reason, tt.reason)
				}
			}
		})
	}
}

// TestCompressedInZip: a bzip2 file inside a zip is looked into in turn
// (read whole, as an archive).
func TestCompressedInZip(t *testing.T) {
	data, err := os.ReadFile("testdata/compressed/bundle.tar.bz2")
	if err != nil {
		t.Fatal(err)
	}
	fs := Inspect("a.zip", "", makeZip(t, file{name: "bundle.tar.bz2", data: data}), Limits{})
	if got := findingNames(fs); !slices.Equal(got, []string{NameExecutable}) || !strings.Contains(fs[0].Reason, "a.zip/bundle.tar.bz2/bundle.tar/invoice.exe") {
		t.Fatalf("findings %v", fs)
	}
}

// TestCompressedSlowBound: a bzip2 file that expands past maxSlowOutput
// (lowered here from its 16 MiB), at a ratio under the bomb's, is too
// large to look into, and is not decompressed further.
func TestCompressedSlowBound(t *testing.T) {
	defer func(m int64) { maxSlowOutput = m }(maxSlowOutput)
	maxSlowOutput = 1 << 20
	rnd := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 3<<20)
	for i := range noise {
		noise[i] = 'a' + byte(rnd.IntN(16)) // compresses about twofold
	}
	data := bzip2Compress(t, noise)
	if r := float64(len(noise)) / float64(len(data)); r > DefaultMaxRatio {
		t.Fatalf("test data compresses %.0f-fold: past the bomb ratio", r)
	}
	fs := Inspect("log.bz2", "", data, Limits{})
	if got := findingNames(fs); !slices.Equal(got, []string{NameLimit}) {
		t.Fatalf("findings %v", fs)
	}
	// The bound is for all of an attachment's bzip2 files together.
	small := bzip2Compress(t, noise[:768<<10])
	fs = Inspect("logs.tar", "", makeTar(t, file{name: "a.bz2", data: small}, file{name: "b.bz2", data: small}), Limits{})
	if got := findingNames(fs); !slices.Equal(got, []string{NameLimit}) {
		t.Fatalf("two files of 768 KiB under a 1 MiB bound: findings %v", fs)
	}
	// Under the bound, the same kind of file is read.
	if fs := Inspect("log.bz2", "", bzip2Compress(t, noise[:512<<10]), Limits{}); len(fs) != 0 {
		t.Fatalf("findings under the bound: %v", fs)
	}
}
