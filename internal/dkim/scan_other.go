//go:build !amd64 || purego

package dkim

const haveScanner = false

func scanPairs(p []byte, relaxed bool) int { return 0 }
