package imaptest

import (
	"strings"
	"testing"
)

// TestMatchReply checks the runner's matching rules on replies of the
// kinds the scripts expect, so that a script failure means a server fault.
func TestMatchReply(t *testing.T) {
	tests := []struct {
		name     string
		vars     map[string]string
		expunged []int
		exp, got string
		want     bool
		bound    map[string]string
	}{
		{"binds a variable", nil, nil, "1 fetch (uid $uid1)", "1 FETCH (UID 7 FLAGS (\\Seen))", true, map[string]string{"uid1": "7"}},
		{"bound variable differs", map[string]string{"uid1": "8"}, nil, "1 fetch (uid $uid1)", "1 FETCH (UID 7)", false, nil},
		{"fetch items in any order", nil, nil, "2 fetch (flags (\\seen) uid 4)", "2 FETCH (UID 4 FLAGS (\\Seen))", true, nil},
		{"flags ignore \\Recent", nil, nil, "2 fetch (flags (\\seen))", "2 FETCH (FLAGS (\\Recent \\Seen))", true, nil},
		{"flags allow nothing else", nil, nil, "2 fetch (flags (\\seen))", "2 FETCH (FLAGS (\\Seen \\Draft))", false, nil},
		{"search is exact", nil, nil, "search 1", "SEARCH 1 2", false, nil},
		{"status text is free", nil, nil, "ok [unseen 1]", "OK [UNSEEN 1] first unseen", true, nil},
		{"list flags may have more", nil, nil, "list () $sep $mailbox${sep}test", `LIST (\HasNoChildren) "/" imaptest/test`,
			true, map[string]string{"sep": "/"}},
		{"ban directive", nil, nil, `list ($!unordered $!ban=\subscribed) / x`, `LIST (\Subscribed) "/" x`, false, nil},
		{"noextra with ignore", nil, nil, `1 fetch (flags ($!unordered $!noextra $!ignore=\draft \seen))`, `1 FETCH (FLAGS (\Draft \Seen))`, true, nil},
		{"dollar matches a list", nil, nil, "1 fetch (uid $ flags $)", "1 FETCH (UID 3 FLAGS (\\Seen \\Answered))", true, nil},
		{"literal against quoted", nil, nil, "1 fetch (body[text] {7}\r\nbody1\r\n)", `1 FETCH (BODY[TEXT] "body1` + "\r\n" + `")`, true, nil},
		{"section with spaces is one atom", nil, nil, "1 fetch (body[header.fields (from)] $h)", "1 FETCH (BODY[HEADER.FIELDS (FROM)] {3}\r\nabc)", true, map[string]string{"h": "abc"}},
		{"$n follows expunges", nil, []int{1}, "$3 expunge", "2 EXPUNGE", true, nil},
		{"$n of an expunged message", nil, []int{3}, "$3 fetch (flags ())", "3 FETCH (FLAGS ())", false, nil},
		{"case-sensitive text", nil, nil, `list () "/" ${case:INBOX}`, `LIST () "/" inbox`, false, nil},
		{"escaped dollar", nil, nil, "1 fetch (flags ($$hello))", "1 FETCH (FLAGS ($hello))", true, nil},
		{"~ literal ignores CR", nil, nil, "1 fetch (body[text]<5> ~{1}\r\n3)", "1 FETCH (BODY[TEXT]<5> {2}\r\n3\r)", true, nil},
		{"~ literal ignores the last line end", nil, nil, "1 fetch (binary[1] ~{4}\r\n\x00\xe4\n\n)", "1 FETCH (BINARY[1] ~{5}\r\n\x00\xe4\r\n\n)", true, nil},
		{"~ literal still compares the text", nil, nil, "1 fetch (body[text]<5> ~{1}\r\n3)", "1 FETCH (BODY[TEXT]<5> {2}\r\n4\r)", false, nil},
		{"binary text compared exactly", nil, nil, "1 fetch (binary[1] {2}\r\n\x00\xe4)", "1 FETCH (BINARY[1] ~{2}\r\n\x00\xe5)", false, nil},
		{"brace without a literal", nil, nil, "1 fetch (x {abc)", "1 FETCH (X {abc)", true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exp, err := tokenize(tc.exp)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tokenize(tc.got)
			if err != nil {
				t.Fatal(err)
			}
			vars := map[string]string{}
			for k, v := range tc.vars {
				vars[k] = v
			}
			vars["mailbox"] = "imaptest"
			m := &matcher{vars: vars, expunged: tc.expunged}
			if ok := m.matchReply(exp, got); ok != tc.want {
				t.Fatalf("matchReply(%q, %q) = %v, want %v", tc.exp, tc.got, ok, tc.want)
			}
			for k, v := range tc.bound {
				if m.vars[k] != v {
					t.Errorf("$%s = %q, want %q", k, m.vars[k], v)
				}
			}
		})
	}
}

// TestParseScript checks the three command forms, pipelining, literals
// and the header.
func TestParseScript(t *testing.T) {
	text := strings.Join([]string{
		"connections: 2",
		"state: auth",
		"",
		"1 ok select $mailbox",
		"* 0 exists",
		"# a comment",
		"2 examine $mailbox",
		"! 1 exists",
		"2 ok [read-only]",
		"1 tag1 status a (messages)",
		"1 tag2 status b (messages)",
		"* status a (messages 0)",
		"1 tag2 ok",
		"1 tag1 no",
		"!ifenv SEALPOST_IMAPTEST_NEVER_SET",
		"1 ok never",
		"!endif",
		"1 ok append $mailbox {{{",
		"line one",
		"",
		"}}}",
		"1 ok append $mailbox ~{{{",
		"raw\r",
		"\x00",
		"}}} (x) {{{",
		"two",
		"}}}",
		"",
		"1 ok append $mailbox {{{",
		"a",
		"}}} {{{",
		"bc",
		"}}}",
		"",
	}, "\n")
	sc, err := parseScript("x", text, []byte("From a@b  Fri Feb 22 17:06:23 2008\nSubject: s\n\nbody\n"))
	if err != nil {
		t.Fatal(err)
	}
	if sc.connections != 2 || sc.state != "auth" || len(sc.groups) != 6 {
		t.Fatalf("parsed %+v with %d groups", sc, len(sc.groups))
	}
	g := sc.groups
	if c := g[0].cmds[0]; c.text != "select $mailbox" || c.status != "ok" || g[0].conn != 0 || len(g[0].expect) != 1 {
		t.Errorf("first form: %+v %+v", g[0], c)
	}
	if c := g[1].cmds[0]; c.text != "examine $mailbox" || c.prefix != "[read-only]" || g[1].conn != 1 || len(g[1].negative) != 1 {
		t.Errorf("second form: %+v %+v", g[1], c)
	}
	if len(g[2].cmds) != 2 || g[2].cmds[0].tag != "tag1" || g[2].cmds[0].status != "no" || g[2].cmds[1].status != "ok" || len(g[2].expect) != 1 {
		t.Errorf("third form: %+v", g[2])
	}
	if c := g[3].cmds[0]; c.text != "append $mailbox {10}\r\nline one\r\n" {
		t.Errorf("literal: %q", c.text)
	}
	if c := g[4].cmds[0]; c.text != "append $mailbox ~{6}\r\nraw\r\n\x00 (x) {3}\r\ntwo" {
		t.Errorf("~ literal as in the file, then a second literal: %q", c.text)
	}
	if c := g[5].cmds[0]; c.text != "append $mailbox {1}\r\na {2}\r\nbc" {
		t.Errorf("two literals: %q", c.text)
	}
	if len(sc.mbox) != 1 || string(sc.mbox[0].data) != "Subject: s\r\n\r\nbody\r\n" || sc.mbox[0].date != "22-Feb-2008 17:06:23 +0000" {
		t.Errorf("mbox: %+v", sc.mbox)
	}
	if got := splitLiterals("A {3}\r\nabc B {2}\r\nxy"); len(got) != 3 || got[0] != "A {3}" || got[1] != "abc B {2}" || got[2] != "xy" {
		t.Errorf("splitLiterals: %q", got)
	}
}
