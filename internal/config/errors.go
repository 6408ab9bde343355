package config

import (
	"fmt"
	"strconv"
)

// Error is one problem found in a configuration file. It names the file, the
// line (0 when the key is absent and its table is too) and the dotted key
// ("listeners.smtp"), so an operator can go straight to the fault.
type Error struct {
	File string // the file name given to Load or Parse
	Line int    // 1-based line of the key, its table, or 0 if neither is in the file
	Key  string // dotted key path; empty for syntax errors that precede any key
	Msg  string // what is wrong, in lower case
	Err  error  // the underlying cause, if any
}

// Error formats e as "file:line: key: message", leaving out the parts that
// are unknown.
func (e *Error) Error() string {
	var b []byte
	b = append(b, e.File...)
	if e.Line > 0 {
		if len(b) > 0 {
			b = append(b, ':')
		} else {
			b = append(b, "line "...)
		}
		b = strconv.AppendInt(b, int64(e.Line), 10)
	}
	if len(b) > 0 {
		b = append(b, ": "...)
	}
	if e.Key != "" {
		b = append(b, e.Key...)
		b = append(b, ": "...)
	}
	b = append(b, e.Msg...)
	return string(b)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

func errorf(file string, line int, key, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
}
