package filter

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/store"
)

// directory is a Directory of example.org with ann.smith@ and bob@, whose
// account 2 (bob) has corresponded with carol.jones@partner.test.
type directory struct {
	calls atomic.Int32
}

func (d *directory) ListDomains(context.Context) ([]store.Domain, error) {
	d.calls.Add(1)
	return []store.Domain{{Name: "example.org"}}, nil
}

func (d *directory) ListAccounts(context.Context, string) ([]store.Account, error) {
	return []store.Account{{ID: 1, Address: "ann.smith@example.org"}, {ID: 2, Address: "bob@example.org"},
		{ID: 3, Address: "old.boss@example.org", Disabled: true}}, nil
}

func (d *directory) ListCorrespondents(_ context.Context, id int64, _ int) ([]store.Correspondent, error) {
	if id == 2 {
		return []store.Correspondent{{Address: "carol.jones@partner.test"}}, nil
	}
	return nil, nil
}

func phishInput(msg string, auth *delivery.Auth) *Input {
	return &Input{Env: &delivery.Envelope{ID: "t"}, Auth: auth, Raw: []byte(msg), Message: content.Parse([]byte(msg))}
}

func TestPhishCheck(t *testing.T) {
	head := "To: bob@example.org\r\nSubject: hello\r\nDate: Sun, 22 Nov 2026 11:00:00 +0000\r\nMessage-ID: <1@x>\r\n"
	plain := "From: Friend <friend@far.test>\r\n" + head + "\r\nSee you at lunch.\r\n"
	reject := &delivery.Auth{DMARC: "fail", FromDomain: "bank.test", Policy: "reject"}
	tests := []struct {
		name string
		msg  string
		auth *delivery.Auth
		want []string
	}{
		{name: "clean", msg: plain, auth: &delivery.Auth{DMARC: "pass", Policy: "reject"}},
		{name: "link to a lookalike of our domain", want: []string{"phish.link_lookalike_domain"},
			msg: "From: Friend <friend@far.test>\r\n" + head + "\r\nSee https://examp1e.org/login now.\r\n"},
		{name: "link text shows another domain", want: []string{"phish.link_text_mismatch"},
			msg: "From: Friend <friend@far.test>\r\n" + head + "Content-Type: text/html\r\n\r\n" +
				`<p><a href="https://tracker.far.test/x">https://www.example.org/</a></p>` + "\r\n"},
		{name: "credential wording", want: []string{"phish.credential_harvest"},
			msg: "From: Friend <friend@far.test>\r\nTo: bob@example.org\r\nSubject: Your account has been suspended\r\n\r\n" +
				"Dear customer, we detected unusual activity. To restore access, click here and verify your account information within 24 hours.\r\n"},
		{name: "From a lookalike of our domain", want: []string{"phish.lookalike_domain_typo"},
			msg: "From: IT <it@exmaple.org>\r\n" + head + "\r\nHi.\r\n"},
		{name: "dmarc p=reject fails", msg: plain, auth: reject, want: []string{"phish.dmarc_reject_fail"}},
		{name: "dmarc p=quarantine fails", msg: plain, auth: &delivery.Auth{DMARC: "fail", Policy: "quarantine"},
			want: []string{"phish.dmarc_quarantine_fail"}},
		{name: "dmarc failure exempted", msg: plain, auth: &delivery.Auth{DMARC: "fail", Policy: "reject", Exempted: "lists.test"}},
		{name: "dmarc failure, trusted ARC", msg: plain, auth: &delivery.Auth{DMARC: "fail", Policy: "reject", TrustedARC: "google.com"}},
		{name: "dmarc p=none fails", msg: plain, auth: &delivery.Auth{DMARC: "fail", Policy: "none"}},
	}
	p := NewPhish(&directory{})
	f := &Filter{Checks: []Check{p}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.score(t.Context(), phishInput(tt.msg, tt.auth))
			if !slices.Equal(names(res.Scores), tt.want) || res.Failed != "" {
				t.Errorf("scores %v (failed %q), want %v", res.Scores, res.Failed, tt.want)
			}
			for _, s := range res.Scores {
				if s.Weight <= 0 || s.Reason == "" || !s.Warn {
					t.Errorf("score %+v", s)
				}
			}
		})
	}
}

func TestPhishAccountCheck(t *testing.T) {
	tests := []struct {
		name, from string
		rcpt       Recipient
		want       []string
	}{
		{name: "a local user's name from outside", from: "Ann Smith <ann.smith.ceo@mail.test>", rcpt: Recipient{ID: 2},
			want: []string{"phish.display_name_impersonation"}},
		{name: "the local user herself", from: "Ann Smith <ann.smith@example.org>", rcpt: Recipient{ID: 2}},
		{name: "a disabled user's name is no one's", from: "Old Boss <boss@mail.test>", rcpt: Recipient{ID: 2}},
		{name: "a correspondent's name from elsewhere", from: "Carol Jones <carol@evil.test>", rcpt: Recipient{ID: 2},
			want: []string{"phish.display_name_impersonation"}},
		{name: "another account's correspondent", from: "Carol Jones <carol@evil.test>", rcpt: Recipient{ID: 1}},
		{name: "our address in the name", from: `"bob@example.org" <x@evil.test>`, rcpt: Recipient{ID: 1},
			want: []string{"phish.display_name_address"}},
	}
	p := NewPhish(&directory{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := phishInput("From: "+tt.from+"\r\nSubject: x\r\n\r\nHi.\r\n", nil)
			scores, err := p.CheckAccount(t.Context(), in, tt.rcpt)
			var got []string
			for _, s := range scores {
				got = append(got, "phish."+s.Name)
				if !s.Warn || s.Weight <= 0 || !strings.Contains(s.Reason, "@") {
					t.Errorf("score %+v", s)
				}
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("scores %v, %v; want %v", scores, err, tt.want)
			}
		})
	}
}

// TestPhishCache: the store is read once per TTL, however many messages.
func TestPhishCache(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	dir := &directory{}
	p := &Phish{Directory: dir, TTL: time.Minute, Now: func() time.Time { return now }}
	in := phishInput("From: Ann Smith <ann@mail.test>\r\n\r\nHi.\r\n", nil)
	for range 3 {
		p.Check(t.Context(), in)
		p.CheckAccount(t.Context(), in, Recipient{ID: 2})
	}
	if n := dir.calls.Load(); n != 1 {
		t.Errorf("%d reads of the store within the TTL, want 1", n)
	}
	now = now.Add(time.Minute)
	p.Check(t.Context(), in)
	if n := dir.calls.Load(); n != 2 {
		t.Errorf("%d reads of the store after the TTL, want 2", n)
	}
}

func TestTTLCacheBounded(t *testing.T) {
	c := newTTLCache[int, int](time.Hour, 3, nil)
	for i := range 10 {
		c.put(i, i)
	}
	if len(c.m) != 3 {
		t.Errorf("%d entries, want 3", len(c.m))
	}
	if v, ok := c.get(9); !ok || v != 9 {
		t.Errorf("the last put: %v %v", v, ok)
	}
}

func TestNameOf(t *testing.T) {
	for addr, want := range map[string]string{
		"ann.smith@example.org": "Ann Smith", "jean-luc_picard@x": "Jean Luc Picard", "bob@x": "",
		"ann.smith2@x": "", "élodie.durand@x": "Élodie Durand", "a.b.c.d.e@x": "",
	} {
		if got := nameOf(addr); got != want {
			t.Errorf("nameOf(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestAttachmentsCheck(t *testing.T) {
	msg := "From: a@far.test\r\nSubject: invoice\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" +
		"Content-Type: text/plain\r\n\r\nSee attached.\r\n--b\r\nContent-Type: application/octet-stream\r\n" +
		"Content-Disposition: attachment; filename=\"invoice.pdf.exe\"\r\n\r\nMZ\r\n--b\r\n" +
		"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"setup.exe\"\r\n\r\nMZ\r\n--b--\r\n"
	f := &Filter{Checks: []Check{Attachments{}}}
	res := f.score(t.Context(), phishInput(msg, nil))
	got := names(res.Scores)
	if !slices.Contains(got, "attach.attachment_executable") || !slices.Contains(got, "attach.attachment_double_extension") {
		t.Errorf("scores %v", res.Scores)
	}
	seen := map[string]bool{}
	for _, n := range got {
		if seen[n] {
			t.Errorf("%s twice: %v", n, got)
		}
		seen[n] = true
	}
	if res := f.score(t.Context(), phishInput("From: a@far.test\r\n\r\nNo attachment.\r\n", nil)); len(res.Scores) != 0 {
		t.Errorf("no attachment: %v", res.Scores)
	}
}

// TestPhishCorrespondentsFromStore: over a real store, the name of
// someone the recipient wrote to, from another address, is an
// impersonation for that recipient only.
func TestPhishCorrespondentsFromStore(t *testing.T) {
	_, st := newPipeline(t, &Filter{})
	ctx := t.Context()
	bob, err := st.GetAccount(ctx, "bob@example.org")
	if err != nil {
		t.Fatal(err)
	}
	ann, err := st.GetAccount(ctx, "ann@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordSend(ctx, bob.ID, time.Now(), []string{"carol.jones@partner.test"}, 100); err != nil {
		t.Fatal(err)
	}
	p := NewPhish(st)
	in := phishInput("From: Carol Jones <carol@evil.test>\r\nSubject: invoice\r\n\r\nHi.\r\n", nil)
	scores, err := p.CheckAccount(ctx, in, Recipient{ID: bob.ID})
	if err != nil || len(scores) != 1 || scores[0].Name != "display_name_impersonation" || !strings.Contains(scores[0].Reason, "carol.jones@partner.test") {
		t.Errorf("bob: %+v, %v", scores, err)
	}
	if scores, err := p.CheckAccount(ctx, in, Recipient{ID: ann.ID}); err != nil || len(scores) != 0 {
		t.Errorf("ann, who never wrote to Carol: %+v, %v", scores, err)
	}
}

// TestPhishConcurrent: the first messages may arrive together; run with
// -race.
func TestPhishConcurrent(t *testing.T) {
	p := &Phish{Directory: &directory{}, MaxAccounts: 2}
	in := phishInput("From: Carol Jones <carol@evil.test>\r\n\r\nSee https://examp1e.org/\r\n", nil)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if _, err := p.Check(t.Context(), in); err != nil {
				t.Error(err)
			}
			if _, err := p.CheckAccount(t.Context(), in, Recipient{ID: int64(i%4 + 1)}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}
