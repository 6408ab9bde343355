package clamd

import (
	"errors"
	"testing"
)

// FuzzParseReply: any reply is a verdict or an error of one of the two
// kinds the pipeline decides on; a signature is one printable word.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"stream: OK", "stream: Eicar-Signature FOUND", "1: stream: X FOUND\x00",
		"INSTREAM size limit exceeded. ERROR", "x ERROR", "", ": FOUND", "\x00\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		res, err := ParseReply(s)
		if err != nil {
			if !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("ParseReply(%q): error of no kind: %v", s, err)
			}
			if res != (Result{}) {
				t.Fatalf("ParseReply(%q): %+v beside an error", s, res)
			}
			return
		}
		if res.Infected != (res.Signature != "") || !isPrintable(res.Signature) {
			t.Fatalf("ParseReply(%q) = %+v", s, res)
		}
		for i := 0; i < len(res.Signature); i++ {
			if res.Signature[i] == ' ' {
				t.Fatalf("ParseReply(%q) = %+v", s, res)
			}
		}
	})
}
