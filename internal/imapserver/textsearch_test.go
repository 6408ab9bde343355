package imapserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/textindex"
)

// decodedMessages follow testMessages (UIDs 4 to 8): text that only
// decoding finds.
var decodedMessages = []string{
	// 4: base64 UTF-8 body
	"From: dave@example.org\r\nSubject: plans\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"VGhlIHNlY3JldCBwbGFucyBmb3IgdGhlIG1vb24gYmFzZS4K\r\n",
	// 5: quoted-printable ISO-8859-1 body
	"From: erin@example.org\r\nSubject: menu\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		"Caf=E9 cr=E8me br=FBl=E9e\r\n",
	// 6: encoded-word subject and sender name
	"From: =?utf-8?q?J=C3=B6rg?= <joerg@example.org>\r\nSubject: =?ISO-8859-1?Q?R=E9union_annul=E9e?=\r\n\r\nsee subject\r\n",
	// 7: HTML with entities
	"From: frank@example.org\r\nSubject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Gr&uuml;&szlig;e aus <b>K&ouml;ln</b></p>\r\n",
	// 8: 8-bit UTF-8 body
	"Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n明日の会議\r\n",
}

// TestTextSearch runs SEARCH over decoded text through a real session:
// with the index filled by the indexer, and for a message delivered after
// it (not yet indexed), combined with flags, NOT, OR and UIDs, through
// ESEARCH and SORT, and with a CHARSET other than UTF-8.
func TestTextSearch(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	for _, m := range decodedMessages[:4] {
		e.deliver(t, m)
	}
	// Index what is there; the last message comes after.
	ix := textindex.New(e.st, nil)
	indexNow(t, e.st, ix, e.inbox)
	e.deliver(t, decodedMessages[4])

	c := e.connect(t, "imaps", true)
	c.expect("SELECT INBOX", "OK")
	c.expect(`STORE 4 +FLAGS (\Seen)`, "OK")
	for _, s := range []struct{ cmd, want string }{
		{"SEARCH TEXT giraffe", "* SEARCH 1"},
		{"SEARCH BODY \"MOON BASE\"", "* SEARCH 4"},
		{"SEARCH BODY VGhlIHNlY3JldCBwbGFucw", "* SEARCH"},
		{"SEARCH TEXT \"crème brûlée\"", "* SEARCH 5"},
		{"SEARCH BODY =E9", "* SEARCH"},
		{"SEARCH SUBJECT \"réunion\"", "* SEARCH 6"},
		{"SEARCH SUBJECT ISO-8859-1", "* SEARCH"},
		{`SEARCH FROM "jörg"`, "* SEARCH 6"},
		{"SEARCH FROM JOERG@", "* SEARCH 6"},
		{"SEARCH TEXT \"grüsse aus köln\"", "* SEARCH 7"},
		{"SEARCH BODY uuml", "* SEARCH"},
		{`SEARCH TEXT "é"`, "* SEARCH 5 6"},
		{"SEARCH TEXT a.bin", "* SEARCH 2"},
		{"SEARCH HEADER Message-Id <1@", "* SEARCH 1"},
		{"SEARCH HEADER Content-Transfer-Encoding quoted", "* SEARCH 5"},
		{"SEARCH SEEN BODY plans", "* SEARCH 4"},
		{"SEARCH UNSEEN BODY plans", "* SEARCH"},
		{"SEARCH NOT TEXT example.org", "* SEARCH 3 8"},
		{`SEARCH OR SUBJECT plans BODY "brûlée"`, "* SEARCH 4 5"},
		{"SEARCH 5:* TEXT e", "* SEARCH 5 6 7 8"},
		{"UID SEARCH UID 1:4 TEXT the", "* SEARCH 1 4"},
		{"SEARCH RETURN (COUNT) TEXT example", "COUNT 6"},
		{`SORT (REVERSE ARRIVAL) UTF-8 TEXT "é"`, "* SORT 6 5"},
		// ISO-2022-JP is 7-bit: "会議" (meeting).
		{"SEARCH CHARSET ISO-2022-JP TEXT {10+}\r\n\x1b$B2q5D\x1b(B", "* SEARCH 8"},
		{"SEARCH CHARSET ISO-8859-1 TEXT caf", "* SEARCH 5"},
	} {
		u, st := c.cmd(s.cmd)
		if !strings.HasPrefix(st, "OK") {
			t.Errorf("%q: %s", s.cmd, st)
			continue
		}
		found := false
		for _, l := range u {
			if l == s.want || strings.Contains(s.want, "COUNT") && strings.Contains(l, s.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%q: got %q, want %q", s.cmd, u, s.want)
		}
	}
	// An expunged message leaves the index with its body.
	c.expect(`STORE 4 +FLAGS (\Deleted)`, "OK")
	c.expect("EXPUNGE", "OK")
	if hits, err := e.st.SearchText(t.Context(), e.inbox.ID, store.TextBody, "moon base"); err != nil || len(hits.UIDs) != 0 {
		t.Errorf("after expunge: %+v, %v", hits, err)
	}
}

// indexNow runs the indexer until every message of mb has its text.
func indexNow(t *testing.T, st store.Store, ix *textindex.Indexer, mb store.Mailbox) {
	t.Helper()
	ctx := t.Context()
	done := make(chan struct{})
	runCtx, stop := context.WithCancel(ctx)
	go func() { ix.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		hits, err := st.SearchText(ctx, mb.ID, store.TextAll, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(hits.Unindexed) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still unindexed", len(hits.Unindexed))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
