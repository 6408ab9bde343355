package pop3

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// copyBody writes a message body as the lines of a multi-line response
// (RFC 1939 section 3), without the terminating ".": every line ends in
// CRLF (a bare LF becomes CRLF), a line beginning with "." gets another
// one, and a last line without a line end is given one. With bodyLines >= 0
// only the header, the blank line after it and that many body lines are
// sent (TOP); reading stops there. The body is read in bounded pieces, so
// neither a large message nor a long line is held in memory.
func copyBody(w *bufio.Writer, body io.Reader, bodyLines int) error {
	r := bufio.NewReaderSize(body, 32<<10)
	header := true
	midLine := false // the last piece written ended inside a line
	pendingCR := false
	for {
		frag, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			err = nil
		} else if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if len(frag) > 0 {
			if !midLine {
				if !header {
					if bodyLines == 0 {
						return nil
					}
					if bodyLines > 0 {
						bodyLines--
					}
				}
				if frag[0] == '.' {
					w.WriteByte('.')
				}
				if header && (len(frag) == 1 && frag[0] == '\n' || string(frag) == "\r\n") {
					header = false
				}
			} else if pendingCR && frag[0] != '\n' {
				// The CR held back was inside the line after all.
				w.WriteByte('\r')
			}
			pendingCR = false
			content, complete := bytes.CutSuffix(frag, []byte{'\n'})
			if complete {
				content = bytes.TrimSuffix(content, []byte{'\r'})
			} else if len(content) > 0 && content[len(content)-1] == '\r' {
				// Perhaps the CR of a CRLF split between two pieces.
				content, pendingCR = content[:len(content)-1], true
			}
			w.Write(content)
			if complete {
				w.WriteString("\r\n")
			}
			midLine = !complete
		}
		if err != nil { // io.EOF
			if pendingCR {
				w.WriteByte('\r')
			}
			if midLine {
				w.WriteString("\r\n")
			}
		}
		// A failed write sticks to w; Write(nil) reports it.
		if _, werr := w.Write(nil); werr != nil || err != nil {
			return werr
		}
	}
}
