package imaptest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// script is one parsed imaptest script.
type script struct {
	name          string
	capabilities  []string
	state         string // nonauth, auth, created, appended or selected
	connections   int
	messages      int // -1: all
	ignoreExtra   bool
	otherHeaders  []string
	groups        []*group
	mbox          []mboxMessage
	nextAppendIdx int
}

// group is a set of commands sent together on one connection, with the
// untagged replies expected while they run.
type group struct {
	line     int
	conn     int // 0-based
	cmds     []*command
	expect   []string // untagged expectations, without "* "
	negative []string // untagged replies that must not appear
}

// command is one command and the tagged reply it must get.
type command struct {
	tag    string // empty: the runner picks one
	text   string
	status string // ok, no, bad, or "" for any
	prefix string // what the tagged reply's text must begin with
	done   bool   // a status has been given for it
}

var statuses = map[string]bool{"ok": true, "no": true, "bad": true, `""`: true}

// parseScript reads a script and the mbox its messages come from.
func parseScript(name, text string, mbox []byte) (*script, error) {
	s := &script{name: name, state: "selected", connections: 1, messages: -1, ignoreExtra: true}
	// Lines keep their CR: a ~{{{ literal takes the text as it is.
	lines := strings.Split(text, "\n")
	i := 0
	for ; i < len(lines); i++ {
		lines[i] = strings.TrimSuffix(lines[i], "\r")
		key, value, ok := strings.Cut(lines[i], ":")
		if lines[i] == "" || !ok {
			break
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(key) {
		case "capabilities":
			s.capabilities = strings.Fields(value)
		case "state":
			s.state = strings.ToLower(value)
		case "connections":
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("line %d: connections %q", i+1, value)
			}
			s.connections = n
		case "messages":
			if value != "all" {
				n, err := strconv.Atoi(value)
				if err != nil {
					return nil, fmt.Errorf("line %d: messages %q", i+1, value)
				}
				s.messages = n
			}
		case "ignore_extra_untagged":
			s.ignoreExtra = value != "no"
		default:
			// Per-connection users ("user 2: ...") and the like: one
			// account serves every connection here.
			s.otherHeaders = append(s.otherHeaders, key)
		}
	}
	s.mbox = splitMbox(mbox)
	body, nums := preprocess(lines[i:], i+1)
	return s, s.parseBody(body, nums)
}

// preprocess drops comments and resolves !ifenv blocks, joining {{{...}}}
// literals into the line that opens them as "{n}\r\n" plus the text: its
// lines joined by CRLF, or for a ~{{{ literal (a literal8) the bytes as
// they are in the script, as imaptest has it; either without the line end
// before the closing }}}.
func preprocess(lines []string, first int) ([]string, []int) {
	var out []string
	var nums []int
	var skip []bool
	skipping := func() bool {
		for _, s := range skip {
			if s {
				return true
			}
		}
		return false
	}
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSuffix(lines[i], "\r")
		fields := strings.Fields(line)
		switch {
		case len(fields) == 2 && fields[0] == "!ifenv":
			_, set := os.LookupEnv(fields[1])
			skip = append(skip, !set)
			continue
		case len(fields) == 2 && fields[0] == "!ifnenv":
			_, set := os.LookupEnv(fields[1])
			skip = append(skip, set)
			continue
		case len(fields) == 1 && fields[0] == "!else" && len(skip) > 0:
			skip[len(skip)-1] = !skip[len(skip)-1]
			continue
		case len(fields) == 1 && fields[0] == "!endif" && len(skip) > 0:
			skip = skip[:len(skip)-1]
			continue
		}
		num := first + i
		if before, ok := strings.CutSuffix(line, "{{{"); ok {
			var b strings.Builder
			// "}}} more {{{" ends one literal and opens the next.
			for {
				binary := strings.HasSuffix(before, "~")
				var lit []string
				for i++; i < len(lines) && !strings.HasPrefix(lines[i], "}}}"); i++ {
					if binary {
						lit = append(lit, lines[i])
					} else {
						lit = append(lit, strings.TrimSuffix(lines[i], "\r"))
					}
				}
				text := strings.Join(lit, "\r\n")
				if binary {
					text = strings.Join(lit, "\n")
				}
				fmt.Fprintf(&b, "%s{%d}\r\n%s", before, len(text), text)
				rest := ""
				if i < len(lines) {
					rest = strings.TrimSuffix(strings.TrimPrefix(lines[i], "}}}"), "\r")
				}
				if next, ok := strings.CutSuffix(rest, "{{{"); ok && i < len(lines) {
					before = next
					continue
				}
				b.WriteString(rest)
				break
			}
			line = b.String()
		}
		if skipping() || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
		nums = append(nums, num)
	}
	return out, nums
}

// parseBody turns the command lines into groups.
func (s *script) parseBody(lines []string, nums []int) error {
	var cur *group
	pending := func() bool {
		if cur == nil {
			return false
		}
		for _, c := range cur.cmds {
			if !c.done {
				return true
			}
		}
		return false
	}
	for i, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "* "); ok {
			if cur == nil {
				return fmt.Errorf("line %d: reply before any command", nums[i])
			}
			cur.expect = append(cur.expect, strings.TrimSpace(rest))
			continue
		}
		if rest, ok := strings.CutPrefix(line, "! "); ok {
			if cur == nil {
				return fmt.Errorf("line %d: reply before any command", nums[i])
			}
			cur.negative = append(cur.negative, strings.TrimSpace(rest))
			continue
		}
		conn, rest := 0, line
		if s.connections > 1 {
			first, after, _ := strings.Cut(line, " ")
			n, err := strconv.Atoi(first)
			switch {
			case err == nil && n >= 1 && n <= s.connections:
				conn, rest = n-1, after
			case pending():
				// A status line may leave out the connection number.
				conn = cur.conn
			default:
				return fmt.Errorf("line %d: no connection number: %q", nums[i], line)
			}
		}
		word, after, _ := strings.Cut(rest, " ")
		lw := strings.ToLower(word)
		// A status line closes a pending command: by tag (third form) or,
		// for the second form, the one untagged command.
		if pending() && cur.conn == conn {
			if statuses[lw] && len(cur.cmds) == 1 && cur.cmds[0].tag == "" {
				c := cur.cmds[0]
				c.status, c.prefix, c.done = statusOf(lw), strings.TrimSpace(after), true
				continue
			}
			st, prefix, _ := strings.Cut(after, " ")
			if statuses[strings.ToLower(st)] {
				if c := cur.byTag(word); c != nil && !c.done {
					c.status, c.prefix, c.done = statusOf(strings.ToLower(st)), strings.TrimSpace(prefix), true
					continue
				}
			}
		}
		if statuses[lw] {
			// First form: status, then the command.
			cur = &group{line: nums[i], conn: conn, cmds: []*command{{text: after, status: statusOf(lw), done: true}}}
			s.groups = append(s.groups, cur)
			continue
		}
		// Third form when a later line gives this word a status, else second.
		if hasTaggedStatus(lines[i+1:], s.connections > 1, word) {
			if cur != nil && pending() && cur.conn == conn && cur.cmds[0].tag != "" && len(cur.expect) == 0 {
				cur.cmds = append(cur.cmds, &command{tag: word, text: after})
				continue
			}
			cur = &group{line: nums[i], conn: conn, cmds: []*command{{tag: word, text: after}}}
			s.groups = append(s.groups, cur)
			continue
		}
		cur = &group{line: nums[i], conn: conn, cmds: []*command{{text: rest}}}
		s.groups = append(s.groups, cur)
	}
	if pending() {
		return fmt.Errorf("line %d: command without a status", cur.line)
	}
	return nil
}

func statusOf(w string) string {
	if w == `""` {
		return ""
	}
	return w
}

func (g *group) byTag(tag string) *command {
	for _, c := range g.cmds {
		if c.tag != "" && strings.EqualFold(c.tag, tag) {
			return c
		}
	}
	return nil
}

// hasTaggedStatus reports whether a later line reads "<tag> <status>".
func hasTaggedStatus(lines []string, numbered bool, tag string) bool {
	for _, l := range lines {
		if numbered {
			_, l, _ = strings.Cut(l, " ")
		}
		w, rest, _ := strings.Cut(l, " ")
		st, _, _ := strings.Cut(rest, " ")
		if strings.EqualFold(w, tag) && statuses[strings.ToLower(st)] {
			return true
		}
	}
	return false
}

// mboxMessage is one message of an mbox fixture.
type mboxMessage struct {
	date string // INTERNALDATE for APPEND, from the "From " line; may be empty
	data []byte
}

// splitMbox splits an mbox into messages with CRLF line ends. Each message
// keeps the blank line before the next "From " line, as imaptest does.
func splitMbox(data []byte) []mboxMessage {
	var msgs []mboxMessage
	var cur []string
	date := ""
	started := false
	flush := func() {
		if started {
			msgs = append(msgs, mboxMessage{date: date, data: []byte(strings.Join(cur, "\r\n"))})
		}
		cur = nil
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "From ") {
			flush()
			started = true
			date = fromLineDate(l)
			continue
		}
		cur = append(cur, l)
	}
	flush()
	for i, m := range msgs {
		if len(m.data) > 0 {
			msgs[i].data = append(m.data, "\r\n"...)
		}
	}
	return msgs
}

// fromLineDate turns the date of an mbox "From " line ("From user@domain
// Fri Feb 22 17:06:23 2008 [+0200]") into an IMAP date-time, "" if none.
func fromLineDate(line string) string {
	f := strings.Fields(line)
	if len(f) < 7 {
		return ""
	}
	text := strings.Join(f[2:7], " ")
	zone := "+0000"
	if len(f) > 7 {
		zone = f[7]
	}
	t, err := time.Parse("Mon Jan 2 15:04:05 2006 -0700", text+" "+zone)
	if err != nil {
		return ""
	}
	return t.Format("02-Jan-2006 15:04:05 -0700")
}
