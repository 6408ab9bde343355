package smtp

import (
	"bufio"
	"errors"
)

// MaxCommandLine is the command line limit of RFC 5321 section 4.5.3.1.4,
// 512 octets including CRLF. AUTH initial responses need more (RFC 4954
// section 4 allows 12288); a server picks its own limit per state.
const MaxCommandLine = 512

// ReadLine reads one line ending in CRLF from r and returns it without the
// line ending. max bounds the line, CRLF included; it must be positive. The
// returned slice is valid until the next read from r.
//
// A line longer than max yields ErrLineTooLong after the rest of it, up to
// and including the next LF, has been read and discarded, so the caller can
// answer and go on reading commands. The discarded part is not bounded in
// length, only in memory: callers bound it in time with a deadline.
//
// A line ending in a bare LF is returned together with ErrBareLF. RFC 5321
// section 2.3.8 allows only CRLF, and accepting LF would let a command line
// mean different things to Sealpost and to a proxy or filter in front of
// it; the server answers ErrBareLF and does not execute the line. The line
// is returned only for logging. A CR elsewhere in the line is left in it;
// the command parser refuses control characters.
//
// At end of input, a partial line is discarded and io.EOF or
// io.ErrUnexpectedEOF returned.
func ReadLine(r *bufio.Reader, max int) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == nil {
		if len(line) > max {
			return nil, ErrLineTooLong
		}
		return trimLineEnd(line)
	}
	if errors.Is(err, bufio.ErrBufferFull) {
		return readLongLine(r, line, max)
	}
	return nil, eofErr(err, len(line))
}

// readLongLine continues a line that did not fit the bufio buffer. It
// copies only while the line is within max.
func readLongLine(r *bufio.Reader, first []byte, max int) ([]byte, error) {
	var acc []byte
	if len(first) <= max {
		acc = append(acc, first...)
	}
	n := len(first)
	for {
		part, err := r.ReadSlice('\n')
		n += len(part)
		if n <= max {
			acc = append(acc, part...)
		}
		switch {
		case err == nil:
			if n > max {
				return nil, ErrLineTooLong
			}
			return trimLineEnd(acc)
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, eofErr(err, n)
		}
	}
}

func trimLineEnd(line []byte) ([]byte, error) {
	line = line[:len(line)-1]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		return line[:len(line)-1], nil
	}
	return line, ErrBareLF
}
