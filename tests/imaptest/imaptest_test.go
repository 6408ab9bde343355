package imaptest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// scriptDir is where the imaptest scripts are read from: shared/ sits
// beside the repository, here and in CI.
func scriptDir() string {
	if d := os.Getenv("SEALPOST_IMAPTEST_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "conformance", "imaptest", "tests")
}

// TestScripts runs every imaptest script against `sealpost dev`. Scripts
// listed in testdata/passing.txt must pass; the others are reported. With
// SEALPOST_IMAPTEST_UPDATE=1 the list is rewritten from this run.
func TestScripts(t *testing.T) {
	dir := scriptDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no imaptest scripts in CI: %v", err)
		}
		t.Skipf("no imaptest scripts (set SEALPOST_IMAPTEST_DIR): %v", err)
	}
	passingList, err := os.ReadFile(filepath.Join("testdata", "passing.txt"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	mustPass := map[string]bool{}
	for _, l := range strings.Split(string(passingList), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			mustPass[l] = true
		}
	}

	data := filepath.Join(t.TempDir(), "data")
	cfg, out := startDev(t, data)
	srv, err := newServer(cfg, filepath.Join(data, "tls", "selfsigned-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	caps, err := srv.capabilities()
	if err != nil {
		t.Fatalf("capabilities: %v\n%s", err, out)
	}

	var mu sync.Mutex
	var passed, failed, skipped []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.Contains(name, ".") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			text, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			mbox, err := os.ReadFile(filepath.Join(dir, name+".mbox"))
			if os.IsNotExist(err) {
				mbox, err = os.ReadFile(filepath.Join(dir, "default.mbox"))
			}
			if err != nil {
				t.Fatal(err)
			}
			sc, err := parseScript(name, string(text), mbox)
			if err != nil {
				t.Fatalf("parsing %s: %v", name, err)
			}
			var missing []string
			for _, c := range sc.capabilities {
				if !caps[strings.ToUpper(c)] {
					missing = append(missing, c)
				}
			}
			if len(missing) > 0 {
				mu.Lock()
				skipped = append(skipped, name)
				mu.Unlock()
				t.Skipf("the server does not advertise %s", strings.Join(missing, " "))
			}
			err = srv.run(sc)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				passed = append(passed, name)
			case mustPass[name]:
				failed = append(failed, name)
				t.Errorf("%s passed before and fails now: %v", name, err)
			default:
				failed = append(failed, name)
				t.Skipf("KNOWN FAILURE (not in testdata/passing.txt): %v", err)
			}
		})
	}
	t.Logf("imaptest scripts: %d passed, %d failed, %d skipped for capabilities", len(passed), len(failed), len(skipped))
	t.Logf("failing: %s", strings.Join(failed, " "))
	t.Logf("skipped: %s", strings.Join(skipped, " "))
	for name := range mustPass {
		if !slices.Contains(passed, name) && !slices.Contains(failed, name) {
			t.Errorf("%s is in testdata/passing.txt but did not run", name)
		}
	}
	if os.Getenv("SEALPOST_IMAPTEST_UPDATE") != "" {
		slices.Sort(passed)
		content := "# imaptest scripts that pass against Sealpost; the list may only grow.\n" + strings.Join(passed, "\n") + "\n"
		if err := os.WriteFile(filepath.Join("testdata", "passing.txt"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
