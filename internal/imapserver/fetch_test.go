package imapserver

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/mimeinfo"
	"sealpost.dev/sealpost/internal/store"
)

// benchMessage is a message of about 4 KiB with a plain and an HTML part,
// as mail clients send.
func benchMessage(i int) string {
	text := strings.Repeat(fmt.Sprintf("Line %d of message %d, which says little. ", i, i), 20)
	return fmt.Sprintf("From: Sender %d <sender%d@example.net>\r\nTo: ann@example.org\r\nCc: Team <team@example.org>, \"Other, Person\" <other@example.com>\r\n"+
		"Subject: Message number %d\r\nDate: Mon, 2 Mar 2026 10:%02d:00 +0000\r\nMessage-ID: <%d@example.net>\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/alternative; boundary=\"b%d\"\r\n\r\n"+
		"--b%d\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n%s\r\n"+
		"--b%d\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>%s</p></body></html>\r\n--b%d--\r\n",
		i, i, i, i%60, i, i, i, text, i, text, i)
}

// TestFetchBatches checks FETCH over more messages than a batch holds, in
// one range and scattered, and the sequence numbers it gives.
func TestFetchBatches(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	const n = 2*fetchBatch + 50
	for i := range n {
		e.deliver(t, benchMessage(i))
	}
	total := n + len(testMessages)
	c := e.connect(t, "imaps", true)
	c.expect("EXAMINE INBOX", "OK")
	u := c.expect("FETCH 1:* (UID ENVELOPE)", "OK")
	if len(u) != total {
		t.Fatalf("FETCH 1:* gave %d responses, want %d", len(u), total)
	}
	for i, r := range u {
		want := fmt.Sprintf("* %d FETCH (UID %d ENVELOPE (", i+1, i+1)
		if !strings.HasPrefix(r, want) {
			t.Fatalf("response %d = %.80q, want %q...", i, r, want)
		}
	}
	if r := u[total-1]; !strings.Contains(r, fmt.Sprintf(`"Message number %d"`, n-1)) ||
		!strings.Contains(r, `(("Team" NIL "team" "example.org")("Other, Person" NIL "other" "example.com"))`) {
		t.Errorf("last envelope: %q", r)
	}
	u = c.expect(fmt.Sprintf("FETCH 2,%d,%d BODY.PEEK[1.MIME]", fetchBatch+1, total), "OK")
	if len(u) != 3 || !strings.HasPrefix(u[1], fmt.Sprintf("* %d FETCH (BODY[1.MIME] {", fetchBatch+1)) ||
		!strings.HasSuffix(u[2], "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n)") {
		t.Errorf("scattered FETCH: %q", u)
	}
	u = c.expect(fmt.Sprintf("UID FETCH %d:* (BODY.PEEK[HEADER.FIELDS (Subject)]<9.6>)", total-1), "OK")
	if len(u) != 2 || !strings.HasSuffix(u[1], "BODY[HEADER.FIELDS (SUBJECT)]<9> {6}\r\nMessag)") {
		t.Errorf("partial header fields: %q", u)
	}
}

// TestFetchSummaryLater checks that a message stored without a usable
// summary (stored before summaries, or by another version) is described
// all the same, and its summary stored for next time.
func TestFetchSummaryLater(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	m := e.deliver(t, "From: x@y.test\r\nSubject: old\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nbody\r\n")
	old := map[string][]byte{m.BlobID: {mimeinfo.Version + 1}}
	if err := e.st.PutSummaries(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	c := e.connect(t, "imaps", true)
	c.expect("EXAMINE INBOX", "OK")
	u := c.expect("FETCH 4 (ENVELOPE BODY.PEEK[1] BODY.PEEK[1.1] BODY.PEEK[1.HEADER])", "OK")
	all := strings.Join(u, "\n")
	if !strings.Contains(all, `* 4 FETCH (ENVELOPE (NIL "old" ((NIL NIL "x" "y.test"))`) ||
		!strings.Contains(all, "BODY[1] {24}\r\nSubject: inner\r\n\r\nbody\r\n") ||
		!strings.Contains(all, "BODY[1.1] {6}\r\nbody\r\n") ||
		!strings.Contains(all, "BODY[1.HEADER] {18}\r\nSubject: inner\r\n\r\n") {
		t.Errorf("FETCH of a message without a summary:\n%s", all)
	}
	got, err := e.st.Summaries(t.Context(), []string{m.BlobID})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := mimeinfo.Decode(got[m.BlobID]); err != nil || s.Root.Envelope.Subject != "old" {
		t.Errorf("summary stored by FETCH: %v", err)
	}
}

// BenchmarkFetchAll measures FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)
// over 1,000 messages of 4 KiB, the request a mail client makes when it
// opens a mailbox, over TLS on loopback.
func BenchmarkFetchAll(b *testing.B) {
	e := newEnv(b, Limits{}, 0)
	for i := range 1000 - len(testMessages) {
		e.deliver(b, benchMessage(i))
	}
	c := e.connect(b, "imaps", true)
	c.expect("EXAMINE INBOX", "OK")
	c.expect("FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)", "OK") // warm up
	b.ResetTimer()
	for range b.N {
		if u := c.expect("FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)", "OK"); len(u) != 1000 {
			b.Fatalf("%d responses", len(u))
		}
	}
}

// TestSummaryCacheBound checks that the cache stays within its bound,
// keeps what fits and replaces an entry in place.
func TestSummaryCacheBound(t *testing.T) {
	c := newSummaryCache(10 << 10)
	sum := &fetchSummary{Summary: &mimeinfo.Summary{}}
	for i := range 100 {
		c.put(fmt.Sprint("blob", i), sum, 500)
		if c.size > c.max {
			t.Fatalf("after %d puts: size %d of %d with %d entries", i+1, c.size, c.max, len(c.m))
		}
	}
	if c.get("blob99") != sum || len(c.m) != 5 {
		t.Errorf("the last put is gone, or the cache holds %d entries, want 5", len(c.m))
	}
	size := c.size
	c.put("blob99", sum, 500)
	if c.size != size || len(c.m) != 5 {
		t.Errorf("putting an entry again: size %d, was %d; %d entries", c.size, size, len(c.m))
	}
	c.put("huge", sum, 1<<20)
	if c.get("huge") != nil {
		t.Error("an entry larger than the cache was kept")
	}
}

// TestFetchEnvelopeUTF8 checks that the ENVELOPE rendered once for
// clients without UTF-8 is not what an IMAP4rev2 client gets.
func TestFetchEnvelopeUTF8(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	e.deliver(t, "Subject: Grüße\r\nFrom: Jörg <j@example.org>\r\n\r\nhi\r\n")
	for _, tc := range []struct {
		enable, want string
	}{
		{"", `ENVELOPE (NIL {7}` + "\r\nGrüße (({5}\r\nJörg NIL \"j\" \"example.org\"))"},
		{"ENABLE IMAP4rev2", `ENVELOPE (NIL "Grüße" (("Jörg" NIL "j" "example.org"))`},
		{"", `ENVELOPE (NIL {7}` + "\r\nGrüße (({5}\r\nJörg NIL \"j\" \"example.org\"))"},
	} {
		c := e.connect(t, "imaps", true)
		if tc.enable != "" {
			c.expect(tc.enable, "OK")
		}
		c.expect("EXAMINE INBOX", "OK")
		u := c.expect("FETCH 4 (ENVELOPE BODYSTRUCTURE)", "OK")
		if len(u) != 1 || !strings.Contains(u[0], tc.want) {
			t.Errorf("%q: %q, want %q", tc.enable, u, tc.want)
		}
	}
}

// bigStore is a mailbox of many messages made up on the fly, recording
// the largest read made of it.
type bigStore struct {
	store.Store
	n     uint32
	most  int
	reads int
}

func (b *bigStore) msg(uid uint32) store.Message {
	return store.Message{ID: int64(uid), MailboxID: 1, UID: uid, BlobID: fmt.Sprint("b", uid)}
}

func (b *bigStore) ListSummarized(ctx context.Context, mailboxID int64, fromUID uint32, limit int) ([]store.Summarized, error) {
	b.reads++
	var out []store.Summarized
	for u := fromUID; u <= b.n && (limit <= 0 || len(out) < limit); u++ {
		out = append(out, store.Summarized{Message: b.msg(u)})
	}
	b.most = max(b.most, len(out))
	return out, nil
}

func (b *bigStore) GetMessage(ctx context.Context, mailboxID int64, uid uint32) (store.Message, error) {
	b.reads++
	b.most = max(b.most, 1)
	return b.msg(uid), nil
}

// TestFetchBatchBound checks that FETCH reads a 100,000-message mailbox a
// batch at a time, never the whole of it, whether the set is a range or
// scattered over the mailbox.
func TestFetchBatchBound(t *testing.T) {
	const n = 100000
	st := &bigStore{n: n}
	v := &view{mb: store.Mailbox{ID: 1}}
	v.uids.appendRun(1, n)
	ss := &session{srv: &Server{store: st}, sel: v}
	for _, tc := range []struct {
		name string
		uids []uint32
	}{
		{"1:*", v.uids.all()},
		{"every 1000th", func() (u []uint32) {
			for i := uint32(1); i <= n; i += 1000 {
				u = append(u, i)
			}
			return u
		}()},
	} {
		st.most, st.reads = 0, 0
		got := 0
		for uids := tc.uids; len(uids) > 0; {
			batch := uids[:min(fetchBatch, len(uids))]
			uids = uids[len(batch):]
			msgs, _, err := ss.loadBatch(t.Context(), batch, true, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range msgs {
				if m.UID != batch[i] {
					t.Fatalf("%s: message %d of a batch is UID %d, want %d", tc.name, i, m.UID, batch[i])
				}
			}
			got += len(msgs)
		}
		if got != len(tc.uids) || st.most > 2*fetchBatch+16 {
			t.Errorf("%s: %d messages in %d reads, the largest of %d messages", tc.name, got, st.reads, st.most)
		}
	}
}
