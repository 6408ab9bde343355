package imapserver

import (
	"io"

	"golang.org/x/text/encoding/htmlindex"
)

// charsetReader decodes text in a named charset to UTF-8, for encoded
// words.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, err
	}
	return enc.NewDecoder().Reader(input), nil
}
