package smtp

import (
	"errors"
	"io"
)

// eofErr turns an EOF in the middle of something into io.ErrUnexpectedEOF.
func eofErr(err error, partial int) error {
	if errors.Is(err, io.EOF) && partial > 0 {
		return io.ErrUnexpectedEOF
	}
	return err
}
