package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// seedFiles are the configurations the fuzz corpus starts from.
func seedFiles(t testing.TB) map[string][]byte {
	seeds := map[string][]byte{"sample": Sample()}
	paths, _ := filepath.Glob("testdata/*/*.toml")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		seeds[filepath.Base(filepath.Dir(p))+"-"+strings.TrimSuffix(filepath.Base(p), ".toml")] = data
	}
	return seeds
}

// TestFuzzCorpus keeps the committed seed corpus in testdata/fuzz/FuzzParse
// in step with the test configurations.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	seeds := seedFiles(t)
	if len(seeds) < 30 {
		t.Fatalf("only %d seeds", len(seeds))
	}
	for name, data := range seeds {
		checkGolden(t, filepath.Join(dir, name), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", data))
	}
}

// FuzzParse checks that Parse never panics, that every error it returns is
// an *Error with a line or a key, and that an accepted configuration
// survives WriteTOML and Parse unchanged.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		indexLines(data) // must not panic on input the parser would refuse
		c, err := Parse(data, "fuzz.toml")
		if err != nil {
			if c != nil {
				t.Fatal("config returned with an error")
			}
			for _, e := range allErrors(t, err) {
				if e.File != "fuzz.toml" || (e.Line < 1 && e.Key == "") || e.Msg == "" {
					t.Fatalf("error lacks file, line, key or message: %#v", e)
				}
			}
			return
		}
		var b bytes.Buffer
		if err := c.WriteTOML(&b); err != nil {
			t.Fatal(err)
		}
		c2, err := Parse(b.Bytes(), "fuzz.toml")
		if err != nil {
			t.Fatalf("WriteTOML output does not parse: %v\n%s", err, b.Bytes())
		}
		c2.Storage.PostgresDSN = c.Storage.PostgresDSN
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip changed the config:\n%#v\n%#v", c, c2)
		}
	})
}
