// Package corpus reads labelled mail for training and measuring the
// filter: a directory of one-message files, a maildir (cur/ and new/) or
// an mbox file, told apart by looking at them; and it holds the fixed
// train/test split.
//
// mbox: messages start at lines beginning "From " (the "mboxo"/"mboxrd"
// family, RFC 4155); the "From " line itself is not part of the message,
// nor is the empty line that separates a message from the next "From "
// line. Lines quoted as ">From " (any number of ">") lose one ">", as in
// mboxrd. Line endings are kept as in the file. Content-Length headers
// (mboxcl) are not trusted.
//
// The split: a message is in the test split when the first byte of the
// SHA-256 of its exact bytes (for mbox, as extracted above) is below
// TestCutoff (77/256, about 30 %); otherwise in the training split. Every
// figure Sealpost reports on a corpus is measured on the test split, and
// nothing is trained or tuned on it.
package corpus

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// MaxMessage bounds the bytes kept of one message; the rest is dropped
// (the filter reads at most 16 MiB of a message anyway).
const MaxMessage = 16 << 20

// TestCutoff is the split: a message whose SHA-256 starts with a byte
// below it is in the test split.
const TestCutoff = 77

// Split names a part of a corpus.
type Split string

// The splits.
const (
	Train Split = "train"
	Test  Split = "test"
	All   Split = "all"
)

// SplitOf returns the split raw belongs to, Train or Test.
func SplitOf(raw []byte) Split {
	if sha256.Sum256(raw)[0] < TestCutoff {
		return Test
	}
	return Train
}

// In reports whether raw belongs to split s (All holds everything).
func (s Split) In(raw []byte) bool {
	return s == All || SplitOf(raw) == s
}

// ParseSplit reads a --split value.
func ParseSplit(v string) (Split, error) {
	switch s := Split(v); s {
	case Train, Test, All:
		return s, nil
	case "":
		return All, nil
	}
	return "", fmt.Errorf("corpus: unknown split %q (train, test or all)", v)
}

// Kind is the layout of a path.
type Kind int

// The layouts Read knows.
const (
	Dir     Kind = iota // a directory of one-message files (searched recursively)
	Maildir             // a directory with cur/ and new/
	Mbox                // a file of messages separated by "From " lines
	File                // a file holding one message
)

func (k Kind) String() string {
	return [...]string{"directory", "maildir", "mbox", "file"}[k]
}

// Detect tells the layout of path.
func Detect(path string) (Kind, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	if fi.IsDir() {
		cur, errCur := os.Stat(filepath.Join(path, "cur"))
		nw, errNew := os.Stat(filepath.Join(path, "new"))
		if errCur == nil && errNew == nil && cur.IsDir() && nw.IsDir() {
			return Maildir, nil
		}
		return Dir, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	head := make([]byte, 5)
	n, _ := io.ReadFull(f, head)
	if string(head[:n]) == "From " {
		return Mbox, nil
	}
	return File, nil
}

// Read calls fn for every message under path, in a stable order, with a
// name (the file's path; for mbox, the file's path, "#" and the
// message's number from 1) and its bytes, at most MaxMessage. It stops
// at the first error fn returns. raw is fn's to keep.
func Read(path string, fn func(name string, raw []byte) error) error {
	kind, err := Detect(path)
	if err != nil {
		return err
	}
	switch kind {
	case Mbox:
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return ReadMbox(f, func(i int, raw []byte) error {
			return fn(fmt.Sprintf("%s#%d", path, i), raw)
		})
	case File:
		raw, err := readFile(path)
		if err != nil {
			return err
		}
		return fn(path, raw)
	case Maildir:
		for _, sub := range []string{"cur", "new"} {
			if err := readDir(filepath.Join(path, sub), false, fn); err != nil {
				return err
			}
		}
		return nil
	}
	return readDir(path, true, fn)
}

// readDir reads every regular file of dir, in name order; with
// recursive, its subdirectories too. Files whose names start with "."
// are skipped (editors' and maildir tools' leftovers).
func readDir(dir string, recursive bool, fn func(string, []byte) error) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := filepath.Join(dir, e.Name())
		switch {
		case strings.HasPrefix(e.Name(), "."):
		case e.IsDir():
			if recursive {
				if err := readDir(name, true, fn); err != nil {
					return err
				}
			}
		case e.Type().IsRegular():
			raw, err := readFile(name)
			if err != nil {
				return err
			}
			if err := fn(name, raw); err != nil {
				return err
			}
		}
	}
	return nil
}

func readFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxMessage))
}

// ErrNotMbox is returned by ReadMbox for input that does not start with
// a "From " line.
var ErrNotMbox = errors.New("corpus: not an mbox (no \"From \" line first)")

// maxLine bounds a line of an mbox: a longer one is split (a message
// with such lines is damaged anyway).
const maxLine = 1 << 20

// ReadMbox calls fn for each message of an mbox, numbered from 1.
func ReadMbox(r io.Reader, fn func(i int, raw []byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var msg []byte
	i := 0
	started, over := false, false
	emit := func() error {
		if !started {
			return nil
		}
		i++
		// The empty line before the next "From " belongs to the mbox.
		if bytes.HasSuffix(msg, []byte("\n\n")) {
			msg = msg[:len(msg)-1]
		} else if bytes.HasSuffix(msg, []byte("\r\n\r\n")) {
			msg = msg[:len(msg)-2]
		}
		err := fn(i, msg)
		msg, over = nil, false
		return err
	}
	for {
		line, err := readLine(br)
		if len(line) > 0 {
			switch {
			case bytes.HasPrefix(line, []byte("From ")):
				if err := emit(); err != nil {
					return err
				}
				started = true
			case !started:
				return ErrNotMbox
			case over:
			default:
				line = unquoteFrom(line)
				if len(msg)+len(line) > MaxMessage {
					over = true
					continue
				}
				msg = append(msg, line...)
			}
		}
		if err == io.EOF {
			return emit()
		}
		if err != nil {
			return err
		}
	}
}

// readLine reads one line with its end, at most maxLine bytes.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if err != bufio.ErrBufferFull || len(line) >= maxLine {
			if err == bufio.ErrBufferFull {
				err = nil
			}
			return line, err
		}
	}
}

// unquoteFrom turns ">From ", ">>From " ... into one ">" less.
func unquoteFrom(line []byte) []byte {
	n := 0
	for n < len(line) && line[n] == '>' {
		n++
	}
	if n > 0 && bytes.HasPrefix(line[n:], []byte("From ")) {
		return line[1:]
	}
	return line
}

// Entry is one line of a recorded split.
type Entry struct {
	Name   string // relative to the corpus root, slash-separated
	SHA256 string // hex
	Split  Split
}

// Entries reads every message under the paths, naming them relative to
// root (slash-separated), in the order Read gives them, path by path.
func Entries(root string, paths ...string) ([]Entry, error) {
	var out []Entry
	for _, p := range paths {
		err := Read(p, func(name string, raw []byte) error {
			rel, err := filepath.Rel(root, name)
			if err != nil {
				return err
			}
			out = append(out, Entry{filepath.ToSlash(rel), fmt.Sprintf("%x", sha256.Sum256(raw)), SplitOf(raw)})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// WriteTSV writes entries as "name\tsha256\tsplit" lines.
func WriteTSV(w io.Writer, entries []Entry) error {
	bw := bufio.NewWriter(w)
	for _, e := range entries {
		fmt.Fprintf(bw, "%s\t%s\t%s\n", e.Name, e.SHA256, e.Split)
	}
	return bw.Flush()
}
