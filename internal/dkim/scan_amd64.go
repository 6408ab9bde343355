//go:build amd64 && !purego

package dkim

import "golang.org/x/sys/cpu"

var haveScanner = cpu.X86.HasAVX2

// scanPairs returns the index of the first bad pair (badPair) in p, or an
// index from which no pair has been looked at yet, at most len(p)-1; it
// looks at 32 pairs at a time while 33 bytes remain.
//
//go:noescape
func scanPairs(p []byte, relaxed bool) int
