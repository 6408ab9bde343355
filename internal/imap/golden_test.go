package imap

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

var unicodeEscape = regexp.MustCompile(`\\u[0-9a-fA-F]{4}`)

// unescapeLine turns \uXXXX into UTF-8 (\u0000 into a NUL) so that the
// test file stays plain ASCII.
func unescapeLine(s string) string {
	return unicodeEscape.ReplaceAllStringFunc(s, func(m string) string {
		n, _ := strconv.ParseUint(m[2:], 16, 32)
		return string(rune(n))
	})
}

// describe renders a ReadCommand result for golden files.
func describe(cmd *Command, err error) string {
	if err != nil {
		var se *SyntaxError
		var le *LiteralError
		switch {
		case errors.As(err, &se):
			return fmt.Sprintf("BAD tag=%q close=%v: %s", se.Tag, se.Close, se.Msg)
		case errors.As(err, &le):
			return fmt.Sprintf("LITERAL tag=%q nonsync=%v size=%d: %v", le.Tag, le.NonSync, le.Info.Size, le.Err)
		}
		return "ERROR " + err.Error()
	}
	b, jerr := json.Marshal(cmd)
	if jerr != nil {
		return "MARSHAL " + jerr.Error()
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "UNMARSHAL " + err.Error()
	}
	out, _ := json.Marshal(pruneZero(v))
	return string(out)
}

// pruneZero drops null, false, "", 0 and zero times from JSON objects so
// that golden lines show only what was parsed. Empty lists stay: they
// differ from absent ones.
func pruneZero(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch e := e.(type) {
			case nil:
				delete(x, k)
			case bool:
				if !e {
					delete(x, k)
				}
			case string:
				if e == "" || e == "0001-01-01T00:00:00Z" {
					delete(x, k)
				}
			case float64:
				if e == 0 {
					delete(x, k)
				}
			default:
				x[k] = pruneZero(e)
			}
		}
	case []any:
		for i := range x {
			x[i] = pruneZero(x[i])
		}
	}
	return v
}

func TestGoldenCommands(t *testing.T) {
	in, err := os.ReadFile("testdata/commands.txt")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	n := 0
	for line := range strings.Lines(string(in)) {
		line = strings.TrimRight(line, "\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n++
		raw := unescapeLine(line)
		r := NewReader(bufio.NewReader(strings.NewReader(raw+"\r\n")), Limits{}, func(LiteralInfo) error { return nil })
		cmd, err := r.ReadCommand()
		fmt.Fprintf(&got, "C: %s\n=> %s\n", line, describe(cmd, err))
		// Every line must be consumed whole: the next read sees EOF.
		if err == nil || isSyntax(err) {
			if _, err2 := r.ReadCommand(); err2 == nil || err2.Error() != "EOF" {
				t.Errorf("%s: stream not at command boundary after parse: %v", line, err2)
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d cases read", n)
	}
	checkGolden(t, "testdata/commands.golden", got.Bytes())
}

// checkGolden compares got with the golden file, writing got beside it
// (.got) for review, or rewriting the golden file with -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		_ = os.WriteFile(path+".got", got, 0o644)
		t.Errorf("%s differs; see %s.got", path, path)
	}
}
