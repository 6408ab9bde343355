package imap

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// imaptestDir holds Dovecot's imaptest scripts (shared/ sits beside the
// repository). They are read in place, never copied.
const imaptestDir = "../../../shared/conformance/imaptest/tests"

// imaptestSkipped lists scripts whose commands belong to extensions
// Sealpost does not implement. imaptest skips a script whose
// "capabilities:" the server does not advertise, so these never reach
// the server.
var imaptestSkipped = map[string]string{
	"catenate":             "CATENATE (RFC 4469) is not implemented",
	"catenate-multiappend": "CATENATE (RFC 4469) is not implemented",
	"urlauth":              "URLAUTH (RFC 4467) is not implemented",
	"urlauth2":             "URLAUTH (RFC 4467) is not implemented",
	"urlauth-binary":       "URLAUTH (RFC 4467) is not implemented",
}

// imaptestVars gives values to the script variables used in command
// lines; any other $name becomes a number.
var imaptestVars = map[string]string{
	"mailbox": "imaptest", "sep": "/", "user": "user@example.com",
	"username": "user", "domain": "example.com", "password": "secret",
	"tag": "t1", "searchtag": "t1",
}

var imaptestVar = regexp.MustCompile(`\$\$|\$\{[a-z0-9_:]+\}|\$[a-z_][a-z0-9_]*|\$[0-9]+`)

func imaptestExpand(s string) string {
	return imaptestVar.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		name := strings.Trim(m[1:], "{}")
		if v, ok := imaptestVars[name]; ok {
			return v
		}
		return "1"
	})
}

// imaptestCommand is one client command from a script.
type imaptestCommand struct {
	where  string // file:line
	expect string // "ok", "no", "bad" or "" (any)
	text   string // the command after the tag, literals as {{{ markers
	lits   []string
}

// imaptestCommands extracts the client commands of one script (format:
// scripted_test.md beside the scripts).
func imaptestCommands(t *testing.T, path string) []imaptestCommand {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	i, multiConn := 0, false
	for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
		if k, v, ok := strings.Cut(lines[i], ":"); ok && k == "connections" && strings.TrimSpace(v) != "1" {
			multiConn = true
		}
	}
	connPrefix := regexp.MustCompile(`^[0-9]+ `)
	status := map[string]bool{"ok": true, "no": true, "bad": true, `""`: true}
	var cmds []imaptestCommand
	for ; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\r")
		switch {
		case strings.TrimSpace(line) == "", strings.HasPrefix(line, "#"), strings.HasPrefix(line, "!if"),
			strings.HasPrefix(line, "!else"), strings.HasPrefix(line, "!endif"):
			continue
		}
		if multiConn {
			line = connPrefix.ReplaceAllString(line, "")
		}
		if strings.HasPrefix(line, "*") || strings.HasPrefix(line, "!") {
			for strings.HasSuffix(line, "{{{") && i+1 < len(lines) {
				for i++; i < len(lines) && !strings.HasPrefix(lines[i], "}}}"); i++ {
				}
				line = lines[i]
			}
			continue
		}
		words := strings.Fields(line)
		c := imaptestCommand{where: filepath.Base(path) + ":" + fmtInt(i+1)}
		switch {
		case status[strings.ToLower(words[0])]:
			rest := strings.TrimSpace(line[len(words[0]):])
			if rest == "" || strings.HasPrefix(rest, "[") {
				continue // a tagless status reply (method 2)
			}
			c.expect, c.text = strings.ToLower(words[0]), rest
		case len(words) > 1 && status[strings.ToLower(words[1])]:
			continue // a tagged status reply (method 3)
		default:
			c.text = line
			if _, ok := commands[upper(words[0])]; !ok && upper(words[0]) != "UID" {
				c.text = strings.TrimSpace(line[len(words[0]):]) // tag given (method 3)
			}
		}
		// Multi-line literals: {{{ at a line end, content up to "}}}".
		for more := strings.HasSuffix(c.text, "{{{"); more; {
			more = false
			var lit []string
			for i++; i < len(lines) && !strings.HasPrefix(lines[i], "}}}"); i++ {
				lit = append(lit, strings.TrimRight(lines[i], "\r"))
			}
			c.lits = append(c.lits, strings.Join(lit, "\r\n")+"\r\n")
			if i < len(lines) {
				rest := strings.TrimPrefix(strings.TrimRight(lines[i], "\r"), "}}}")
				c.text += rest
				more = strings.HasSuffix(rest, "{{{")
			}
		}
		cmds = append(cmds, c)
	}
	return cmds
}

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// wire renders a script command as the bytes a client sends. imaptest's
// bare "append [mailbox] [flags]" appends a message from its mbox file.
func (c imaptestCommand) wire() string {
	text := imaptestExpand(c.text)
	words := strings.Fields(text)
	if strings.EqualFold(words[0], "append") && len(c.lits) == 0 {
		if len(words) == 1 {
			text += " imaptest"
		}
		text += " {{{"
		c.lits = []string{"From: a@example.com\r\nSubject: test\r\n\r\nbody\r\n"}
	}
	var b strings.Builder
	b.WriteString("T1 ")
	parts := strings.Split(text, "{{{")
	for j, part := range parts {
		b.WriteString(part)
		if j < len(parts)-1 {
			b.WriteString("{" + fmtInt(len(c.lits[j])) + "}\r\n" + c.lits[j])
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

func TestImaptestCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(imaptestDir, "*"))
	if err != nil || len(files) == 0 {
		t.Skipf("imaptest scripts not found in %s", imaptestDir)
	}
	broken, _ := filepath.Glob(filepath.Join(imaptestDir, "broken", "*"))
	files = append(files, broken...)
	parsed, bad, skipped := 0, 0, 0
	for _, f := range files {
		name := filepath.Base(f)
		if fi, err := os.Stat(f); err != nil || fi.IsDir() || strings.HasSuffix(name, ".mbox") {
			continue
		}
		if reason, ok := imaptestSkipped[name]; ok {
			t.Logf("%s: skipped: %s", name, reason)
			skipped++
			continue
		}
		for _, c := range imaptestCommands(t, f) {
			wire := c.wire()
			lits := 0
			r := NewReader(bufio.NewReader(strings.NewReader(wire)), Limits{MaxNonSync: -1},
				func(LiteralInfo) error { lits++; return nil })
			err := readWhole(r)
			switch {
			case c.expect == "bad":
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Errorf("%s: %q: want BAD, got %v", c.where, c.text, err)
				}
				bad++
			case err != nil:
				t.Errorf("%s: %q: %v", c.where, wire, err)
			default:
				parsed++
				if lits < len(c.lits) {
					t.Errorf("%s: %d literals sent, %d announced to the LiteralFunc", c.where, len(c.lits), lits)
				}
			}
			// The whole command must have been consumed.
			if _, err := r.ReadCommand(); err == nil || err.Error() != "EOF" {
				t.Errorf("%s: not at a command boundary afterwards: %v", c.where, err)
			}
		}
	}
	t.Logf("imaptest corpus: %d commands parsed, %d rejected as the scripts expect, %d scripts skipped", parsed, bad, skipped)
	if parsed < 500 || bad < 10 {
		t.Errorf("too few commands: %d parsed, %d bad", parsed, bad)
	}
}

// readWhole reads one command, APPEND messages included.
func readWhole(r *Reader) error {
	cmd, err := r.ReadCommand()
	if err != nil {
		return err
	}
	a, ok := cmd.Args.(*AppendArgs)
	if !ok {
		return nil
	}
	for {
		m, err := a.Next()
		if errors.Is(err, ErrAppendDone) {
			return nil
		}
		if err != nil {
			return err
		}
		buf := make([]byte, 512)
		for {
			_, err := m.Body.Read(buf)
			if err != nil {
				break
			}
		}
	}
}
