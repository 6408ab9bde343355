package imaptest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// testMailbox is the mailbox the scripts work in, imaptest's default.
const testMailbox = "imaptest"

// server is how the runner reaches Sealpost.
type server struct {
	addr     string // implicit TLS IMAP
	tls      *tls.Config
	user     string
	password string
}

func newServer(c devConfig, certFile string) (*server, error) {
	pem, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", certFile)
	}
	return &server{
		addr:     net.JoinHostPort(c.Host, strconv.Itoa(c.Ports["imaps"])),
		tls:      &tls.Config{RootCAs: roots, ServerName: "mail.example.test", MinVersion: tls.VersionTLS12},
		user:     c.User,
		password: c.Password,
	}, nil
}

// conn is one IMAP connection.
type conn struct {
	c    net.Conn
	r    *bufio.Reader
	next int
}

func (s *server) dial() (*conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", s.addr, s.tls)
	if err != nil {
		return nil, err
	}
	cn := &conn{c: c, r: bufio.NewReader(c)}
	greeting, err := cn.read(10 * time.Second)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if !strings.HasPrefix(strings.ToUpper(greeting), "* OK") {
		c.Close()
		return nil, fmt.Errorf("greeting %q", greeting)
	}
	return cn, nil
}

var literalEnd = regexp.MustCompile(`\{([0-9]+)\+?\}$`)

// read returns one response with its literals inline ("{n}\r\n" + data)
// and without the final CRLF.
func (c *conn) read(limit time.Duration) (string, error) {
	c.c.SetReadDeadline(time.Now().Add(limit))
	var b strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		b.WriteString(line)
		m := literalEnd.FindStringSubmatch(line)
		if m == nil {
			return b.String(), nil
		}
		n, _ := strconv.Atoi(m[1])
		if n > 64<<20 {
			return "", fmt.Errorf("literal of %d bytes", n)
		}
		buf := make([]byte, n)
		if _, err := ioReadFull(c.r, buf); err != nil {
			return "", err
		}
		b.WriteString("\r\n")
		b.Write(buf)
	}
}

func ioReadFull(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// simple runs one command and returns its untagged replies, failing unless
// the tagged reply is OK.
func (c *conn) simple(cmd string) ([]string, error) {
	c.next++
	tag := fmt.Sprintf("S%d", c.next)
	c.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c.c, "%s %s\r\n", tag, cmd); err != nil {
		return nil, err
	}
	var untagged []string
	for range 100000 {
		line, err := c.read(30 * time.Second)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cmd, err)
		}
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			if !strings.HasPrefix(strings.ToUpper(rest), "OK") {
				return untagged, fmt.Errorf("%s: %s", cmd, rest)
			}
			return untagged, nil
		}
		if rest, ok := strings.CutPrefix(line, "* "); ok {
			untagged = append(untagged, rest)
		}
	}
	return nil, fmt.Errorf("%s: no end of reply", cmd)
}

func quote(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}

// capabilities returns what the server advertises after login.
func (s *server) capabilities() (map[string]bool, error) {
	c, err := s.dial()
	if err != nil {
		return nil, err
	}
	defer c.c.Close()
	caps := map[string]bool{}
	for _, cmd := range []string{"CAPABILITY", "LOGIN " + quote(s.user) + " " + quote(s.password), "CAPABILITY"} {
		untagged, err := c.simple(cmd)
		if err != nil {
			return nil, err
		}
		for _, u := range untagged {
			if f := strings.Fields(u); len(f) > 0 && strings.EqualFold(f[0], "CAPABILITY") {
				for _, c := range f[1:] {
					caps[strings.ToUpper(c)] = true
				}
			}
		}
	}
	return caps, nil
}

// run executes a script and returns the first failure.
func (s *server) run(sc *script) error {
	conns := make([]*conn, sc.connections)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.c.SetWriteDeadline(time.Now().Add(time.Second))
				fmt.Fprintf(c.c, "Z LOGOUT\r\n")
				c.c.Close()
			}
		}
	}()
	for i := range conns {
		c, err := s.dial()
		if err != nil {
			return fmt.Errorf("setup: %w", err)
		}
		conns[i] = c
	}
	if err := s.setup(sc, conns); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	local, domain, _ := strings.Cut(s.user, "@")
	vars := map[string]string{
		"user": s.user, "username": local, "domain": domain, "password": s.password,
		"mailbox": testMailbox, "mailbox_url": "imap://" + local + "@" + s.addr + "/" + testMailbox,
	}
	for i := 2; i <= sc.connections; i++ {
		vars["user"+strconv.Itoa(i)], vars["username"+strconv.Itoa(i)], vars["domain"+strconv.Itoa(i)] = s.user, local, domain
	}
	for _, g := range sc.groups {
		if err := sc.runGroup(g, conns[g.conn], vars); err != nil {
			return fmt.Errorf("line %d: %w", g.line, err)
		}
	}
	return nil
}

// setup brings every connection to the script's starting state.
func (s *server) setup(sc *script, conns []*conn) error {
	if sc.state == "nonauth" {
		return nil
	}
	for _, c := range conns {
		if _, err := c.simple("LOGIN " + quote(s.user) + " " + quote(s.password)); err != nil {
			return err
		}
	}
	c := conns[0]
	listed, err := c.simple(`LIST "" "` + testMailbox + `*"`)
	if err != nil {
		return err
	}
	var names []string
	for _, l := range listed {
		toks, err := tokenize(l)
		if err == nil && len(toks) == 4 && strings.EqualFold(toks[0].s, "LIST") {
			names = append(names, toks[3].s)
		}
	}
	// Children before parents.
	for i := len(names) - 1; i >= 0; i-- {
		if _, err := c.simple("DELETE " + quote(names[i])); err != nil {
			return err
		}
	}
	if sc.state == "auth" {
		return nil
	}
	if _, err := c.simple("CREATE " + testMailbox); err != nil {
		return err
	}
	if sc.state == "created" {
		return nil
	}
	n := sc.messages
	if n < 0 {
		n = len(sc.mbox)
	}
	for range n {
		if err := c.appendMessage("APPEND "+testMailbox, sc.nextMessage()); err != nil {
			return err
		}
	}
	if sc.state == "appended" {
		return nil
	}
	for _, c := range conns {
		if _, err := c.simple("SELECT " + testMailbox); err != nil {
			return err
		}
	}
	return nil
}

// nextMessage returns the next mbox message, wrapping at the end.
func (sc *script) nextMessage() mboxMessage {
	if len(sc.mbox) == 0 {
		return mboxMessage{data: []byte("Subject: empty\r\n\r\n")}
	}
	m := sc.mbox[sc.nextAppendIdx%len(sc.mbox)]
	sc.nextAppendIdx++
	return m
}

func (c *conn) appendMessage(cmd string, m mboxMessage) error {
	c.next++
	tag := fmt.Sprintf("S%d", c.next)
	msg := m.data
	if m.date != "" {
		cmd += ` "` + m.date + `"`
	}
	c.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c.c, "%s %s {%d}\r\n", tag, cmd, len(msg))
	for range 1000 {
		line, err := c.read(30 * time.Second)
		if err != nil {
			return fmt.Errorf("%s: %w", cmd, err)
		}
		if strings.HasPrefix(line, "+") {
			if _, err := fmt.Fprintf(c.c, "%s\r\n", msg); err != nil {
				return err
			}
			continue
		}
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			if !strings.HasPrefix(strings.ToUpper(rest), "OK") {
				return fmt.Errorf("%s: %s", cmd, rest)
			}
			return nil
		}
	}
	return fmt.Errorf("%s: no end of reply", cmd)
}

// expectation is a parsed untagged expectation.
type expectation struct {
	text    string
	toks    []token
	matched bool
}

// runGroup sends a group's commands and checks the replies.
func (sc *script) runGroup(g *group, c *conn, vars map[string]string) error {
	m := &matcher{vars: vars}
	pending := map[string]*command{}
	var received []string
	var exps []*expectation
	// Expectations are parsed when first needed: their variables may be
	// bound by replies in this group.
	for _, e := range g.expect {
		exps = append(exps, &expectation{text: e})
	}
	handle := func(line string) error {
		rest, ok := strings.CutPrefix(line, "* ")
		if !ok {
			return nil
		}
		received = append(received, line)
		got, err := tokenize(rest)
		if err != nil {
			return fmt.Errorf("unparsable reply %q: %w", line, err)
		}
		for _, n := range g.negative {
			toks, err := tokenize(n)
			if err != nil {
				return fmt.Errorf("bad expectation %q: %w", n, err)
			}
			probe := &matcher{vars: copyVars(m.vars), expunged: m.expunged}
			if probe.matchReply(toks, got) {
				return fmt.Errorf("got the forbidden reply %q (! %s)", line, n)
			}
		}
		for _, e := range exps {
			if e.matched {
				continue
			}
			if e.toks == nil {
				if e.toks, err = tokenize(e.text); err != nil {
					return fmt.Errorf("bad expectation %q: %w", e.text, err)
				}
			}
			if m.matchReply(e.toks, got) {
				e.matched = true
			}
		}
		if len(got) == 2 && strings.EqualFold(got[1].s, "EXPUNGE") {
			if n, err := strconv.Atoi(got[0].s); err == nil {
				m.expunged = append(m.expunged, n)
			}
		}
		return nil
	}
	for _, cmd := range g.cmds {
		text, err := expand(cmd.text, m.vars)
		if err != nil {
			return err
		}
		tag := cmd.tag
		if tag == "" {
			c.next++
			tag = fmt.Sprintf("T%d", c.next)
		}
		// $tag is the tag of the command being run.
		m.vars["tag"] = tag
		pending[strings.ToUpper(tag)] = cmd
		parts := splitLiterals(tag + " " + text)
		verb, args, _ := strings.Cut(text, " ")
		if strings.EqualFold(verb, "append") && !strings.Contains(text, "\r\n") && !strings.Contains(strings.ToLower(text), "catenate") {
			// A bare APPEND appends the next mbox message.
			if args == "" {
				args = testMailbox
			}
			msg := sc.nextMessage()
			if msg.date != "" && !strings.HasSuffix(args, `"`) {
				// The fixture's date, unless the script gives one.
				args += ` "` + msg.date + `"`
			}
			parts = []string{fmt.Sprintf("%s APPEND %s {%d}", tag, args, len(msg.data)), string(msg.data)}
		}
		c.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		for i, p := range parts {
			if _, err := fmt.Fprintf(c.c, "%s", p); err != nil {
				return err
			}
			if i == len(parts)-1 {
				fmt.Fprintf(c.c, "\r\n")
				break
			}
			fmt.Fprintf(c.c, "\r\n")
			// Wait for the continuation before sending the literal.
			for {
				line, err := c.read(15 * time.Second)
				if err != nil {
					return fmt.Errorf("%s: waiting for a continuation: %w", text, err)
				}
				if strings.HasPrefix(line, "+") {
					break
				}
				if strings.HasPrefix(strings.ToUpper(line), strings.ToUpper(tag)+" ") {
					return sc.checkTagged(cmd, text, line[len(tag)+1:], m)
				}
				if err := handle(line); err != nil {
					return err
				}
			}
		}
	}
	// Bindings made by this group's replies stay for the rest of the script.
	defer func() {
		for k, v := range m.vars {
			vars[k] = v
		}
	}()
	for len(pending) > 0 {
		line, err := c.read(15 * time.Second)
		if err != nil {
			return fmt.Errorf("%s: %w (received %q)", g.cmds[0].text, err, lastN(received, 10))
		}
		if strings.HasPrefix(line, "* ") {
			if err := handle(line); err != nil {
				return fmt.Errorf("%s: %w", g.cmds[0].text, err)
			}
			continue
		}
		tag, rest, _ := strings.Cut(line, " ")
		cmd, ok := pending[strings.ToUpper(tag)]
		if !ok {
			continue
		}
		delete(pending, strings.ToUpper(tag))
		if err := sc.checkTagged(cmd, cmd.text, rest, m); err != nil {
			return err
		}
	}
	var missing []string
	for _, e := range exps {
		if !e.matched {
			missing = append(missing, "* "+e.text)
		}
	}
	if len(missing) > 0 {
		var cmds []string
		for _, c := range g.cmds {
			cmds = append(cmds, c.text)
		}
		return fmt.Errorf("%s: missing %q; received %q", strings.Join(cmds, " / "), missing, lastN(received, 12))
	}
	return nil
}

// checkTagged compares a tagged reply's status and text with the script.
func (sc *script) checkTagged(cmd *command, text, reply string, m *matcher) error {
	status, rest, _ := strings.Cut(reply, " ")
	if cmd.status != "" && !strings.EqualFold(status, cmd.status) {
		return fmt.Errorf("%s: got %q, want %s", text, reply, strings.ToUpper(cmd.status))
	}
	if cmd.prefix != "" && !m.matchText(cmd.prefix+"$", rest) {
		return fmt.Errorf("%s: got %q, want %s %s...", text, reply, strings.ToUpper(cmd.status), cmd.prefix)
	}
	return nil
}

// splitLiterals cuts a command at its literals: each part but the last
// ends with a "{n}" header, and the next part begins with its n bytes.
func splitLiterals(s string) []string {
	var parts []string
	start, p := 0, 0
	for {
		i := strings.Index(s[p:], "}\r\n")
		if i < 0 {
			return append(parts, s[start:])
		}
		i += p
		open := strings.LastIndexByte(s[p:i], '{')
		if open < 0 {
			return append(parts, s[start:])
		}
		n, err := strconv.Atoi(s[p+open+1 : i])
		if err != nil || i+3+n > len(s) {
			return append(parts, s[start:])
		}
		parts = append(parts, s[start:i+1])
		start = i + 3
		p = start + n
	}
}

func lastN(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
