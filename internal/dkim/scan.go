package dkim

import "bytes"

// cleanPrefix returns the length of the longest prefix of block made of
// whole lines that canonicalize to themselves, so that they can be hashed
// as they stand: each line ends in CRLF, is not empty, and for relaxed
// (RFC 6376 section 3.4.4) has no tab, no two spaces in a row and no space
// before its line end. It may stop early at a line that is its own
// canonical form (a bare CR, a line starting with CR): the caller
// canonicalizes the rest byte by byte, which gives the same output.
//
// On amd64 with AVX2, a hand-written scanner checks 32 byte pairs at a time
// (scan_amd64.s); elsewhere cleanPrefixLines does. Both are checked against
// cleanPrefixPairs in the tests.
func cleanPrefix(block []byte, relaxed bool) int {
	if !haveScanner || len(block) < scanMin {
		return cleanPrefixLines(block, relaxed)
	}
	if block[0] == '\r' || block[0] == '\n' {
		return 0 // an empty line, or a bare LF
	}
	end := bytes.LastIndexByte(block, '\n') + 1
	if end == 0 {
		return 0
	}
	i := scanPairs(block[:end], relaxed)
	i = firstBadPair(block[:end], i, relaxed)
	if i == end-1 {
		return end
	}
	// The pair at i spoils the line that holds block[i], unless block[i]
	// ends its line.
	return bytes.LastIndexByte(block[:i+1], '\n') + 1
}

// scanMin is the shortest block worth the vectorized scanner.
const scanMin = 64

// badPair reports whether two consecutive bytes a, b show that a line is
// not clean in the sense of cleanPrefix: a bare LF (b), an empty line
// after a line end (a, b), and for relaxed, a tab, two spaces or a space
// before the CR (a).
func badPair(a, b byte, relaxed bool) bool {
	switch {
	case b == '\n' && a != '\r', a == '\n' && b == '\r':
		return true
	case !relaxed:
		return false
	}
	return a == '\t' || a == ' ' && (b == ' ' || b == '\r')
}

// firstBadPair returns the first i >= from with badPair(p[i], p[i+1]),
// or len(p)-1 when there is none.
func firstBadPair(p []byte, from int, relaxed bool) int {
	for i := from; i+1 < len(p); i++ {
		if badPair(p[i], p[i+1], relaxed) {
			return i
		}
	}
	return max(len(p)-1, 0)
}
