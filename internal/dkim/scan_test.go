package dkim

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// cleanPrefixPairs is cleanPrefix written plainly, one pair at a time.
func cleanPrefixPairs(block []byte, relaxed bool) int {
	if len(block) == 0 || block[0] == '\r' || block[0] == '\n' {
		return 0
	}
	end := bytes.LastIndexByte(block, '\n') + 1
	if end == 0 {
		return 0
	}
	i := firstBadPair(block[:end], 0, relaxed)
	if i == end-1 {
		return end
	}
	return bytes.LastIndexByte(block[:i+1], '\n') + 1
}

// randomBody is mostly clean 20-to-90-byte lines with, now and then, each
// thing that spoils a line, at every offset of the 32-byte steps.
func randomBody(rng *rand.Rand, size int) []byte {
	spoilers := []string{"\t", "  ", " \r\n", "\n", "\r\n\r\n", "\rx", " ", "\r"}
	var b []byte
	for len(b) < size {
		n := 20 + rng.IntN(70)
		for range n {
			b = append(b, "abcdefgh ij"[rng.IntN(11)])
		}
		if rng.IntN(8) == 0 {
			at := len(b) - rng.IntN(n)
			b = append(b[:at], append([]byte(spoilers[rng.IntN(len(spoilers))]), b[at:]...)...)
		}
		b = append(b, '\r', '\n')
	}
	return b
}

// TestCleanPrefix checks the scanner in use (vectorized on amd64 with
// AVX2) and the line-by-line one against the plain definition.
func TestCleanPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fixed := []string{
		"", "a\r\n", "\r\n", "\n", "abc", strings.Repeat("x", 100) + "\r\n",
		strings.Repeat("clean line of text\r\n", 10) + "tab\there\r\n" + strings.Repeat("y", 40) + "\r\n",
		strings.Repeat("a", 31) + "\r\n" + strings.Repeat("b", 31) + " \r\n",
		strings.Repeat("a", 62) + "\r\n\r\n" + strings.Repeat("b", 70) + "\r\n",
	}
	for _, body := range fixed {
		for _, relaxed := range []bool{false, true} {
			checkCleanPrefix(t, []byte(body), relaxed)
		}
	}
	for range 2000 {
		body := randomBody(rng, rng.IntN(2000))
		for _, relaxed := range []bool{false, true} {
			checkCleanPrefix(t, body, relaxed)
		}
	}
}

func checkCleanPrefix(t *testing.T, block []byte, relaxed bool) {
	t.Helper()
	want := cleanPrefixPairs(block, relaxed)
	if got := cleanPrefix(block, relaxed); got != want && (haveScanner && len(block) >= scanMin) {
		t.Fatalf("cleanPrefix(%q, relaxed %v) = %d, want %d", block, relaxed, got, want)
	}
	// The line-by-line scanner may go further (past a bare CR, which is
	// its own canonical form) but never less far, and only to a line end.
	if got := cleanPrefixLines(block, relaxed); got < want || got > 0 && block[got-1] != '\n' {
		t.Fatalf("cleanPrefixLines(%q, relaxed %v) = %d, want at least %d", block, relaxed, got, want)
	}
}

// TestBodyCanonLong is TestBodyCanonStreaming with bodies long enough
// for the vectorized scanner, written in chunks of every size.
func TestBodyCanonLong(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 300 {
		body := string(randomBody(rng, rng.IntN(40000)))
		chunks := []int{rng.IntN(5000), rng.IntN(100), rng.IntN(20000)}
		for _, c := range []Canon{Simple, Relaxed} {
			if got, want := canonBody(t, c, body, chunks), referenceBody(c, body); got != want {
				t.Fatalf("%s of a %d-byte body in chunks %v differs from the reference", c, len(body), chunks)
			}
		}
	}
}

func FuzzCleanPrefix(f *testing.F) {
	f.Add([]byte(strings.Repeat("abc def\r\n", 20)), true)
	f.Add([]byte(strings.Repeat("abc  def\r\n", 20)), false)
	f.Fuzz(func(t *testing.T, block []byte, relaxed bool) {
		checkCleanPrefix(t, block, relaxed)
		for _, c := range []Canon{Simple, Relaxed} {
			if got, want := canonBody(t, c, string(block), nil), referenceBody(c, string(block)); got != want {
				t.Fatalf("%s(%q) = %q, want %q", c, block, got, want)
			}
		}
	})
}
