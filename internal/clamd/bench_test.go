package clamd

import (
	"bytes"
	"context"
	"testing"
)

// BenchmarkScan scans a small clean message with a real clamd (one
// signature loaded: this measures the protocol and clamd's parsing of the
// message, not ClamAV's full database).
func BenchmarkScan(b *testing.B) {
	d := startClamd(b)
	msg := readFile(b, "testdata/clean.eml")
	c := &Client{Address: d.unix}
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if res, err := c.Scan(context.Background(), bytes.NewReader(msg)); err != nil || res.Infected {
			b.Fatal(res, err)
		}
	}
}
