package arc

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// crlf turns the LF line ends of a YAML literal into CRLF.
func crlf(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
}

// conformanceDir returns the ARC suite's directory, skipping the test when
// it is missing outside CI.
func conformanceDir(t testing.TB) string {
	t.Helper()
	dir := "../../../shared/conformance/arc"
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("conformance data missing: %v", err)
		}
		t.Skipf("conformance data missing: %v", err)
	}
	return dir
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
