package server

import (
	"bytes"
	"context"
	"errors"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/filter/classify"
	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/filter/corpus"
	"sealpost.dev/sealpost/internal/instance"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/storetest"
)

// corpusDir is the SpamAssassin public corpus, read in place.
const corpusDir = "../../../shared/conformance/spamassassin"

// trainedCorpus is a model trained on the training split of the
// SpamAssassin corpus, and messages of the test split it judges: ham it
// takes for ham, spam it takes for spam.
type trainedCorpus struct {
	model    *classify.Model
	data     []byte
	ham      [][]byte
	spam     [][]byte
	trainErr error
}

var (
	corpusOnce  sync.Once
	corpusModel trainedCorpus
)

// trainCorpus trains (once per test binary) a small model: the whole
// training split of ham and spam, 2^18 weights, 5 epochs, thresholds at
// one half (no cross-validation: these tests show the wiring, package
// classify and `filter eval` measure the accuracy).
func trainCorpus(t *testing.T) *trainedCorpus {
	t.Helper()
	needCorpus(t)
	corpusOnce.Do(func() { corpusModel = train() })
	if corpusModel.trainErr != nil {
		t.Fatal(corpusModel.trainErr)
	}
	return &corpusModel
}

// needCorpus skips the test when the corpus is missing, or fails it in
// CI, where it must be there.
func needCorpus(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(corpusDir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("corpus missing: %v", err)
	}
}

func train() trainedCorpus {
	var tc trainedCorpus
	var examples []classify.Example
	vocab := map[uint64]string{}
	for _, d := range []struct {
		dir string
		c   classify.Class
	}{{"easy_ham", classify.Ham}, {"hard_ham", classify.Ham}, {"spam", classify.Spam}} {
		err := corpus.Read(filepath.Join(corpusDir, d.dir), func(_ string, raw []byte) error {
			if corpus.SplitOf(raw) != corpus.Train {
				return nil
			}
			m := content.Parse(raw)
			for _, tok := range classify.Tokens(m) {
				vocab[classify.Hash(tok)] = tok
			}
			examples = append(examples, classify.Example{Features: classify.Extract(m), Class: d.c})
			return nil
		})
		if err != nil {
			tc.trainErr = err
			return tc
		}
	}
	tc.model, tc.trainErr = classify.Train(examples, classify.TrainOptions{Bits: 18, Epochs: 5,
		Fixed: &classify.Thresholds{Spam: 0.5, Phish: 0.5}, Vocabulary: vocab})
	if tc.trainErr != nil {
		return tc
	}
	if tc.data, tc.trainErr = tc.model.MarshalBinary(); tc.trainErr != nil {
		return tc
	}
	// Test-split messages the model judges right, to send.
	for _, d := range []struct {
		dir  string
		c    classify.Class
		into *[][]byte
	}{{"easy_ham", classify.Ham, &tc.ham}, {"spam", classify.Spam, &tc.spam}} {
		err := corpus.Read(filepath.Join(corpusDir, d.dir), func(_ string, raw []byte) error {
			if len(*d.into) < 3 && corpus.SplitOf(raw) == corpus.Test && sendable(raw) &&
				tc.model.Classify(classify.Extract(content.Parse(raw))) == d.c {
				*d.into = append(*d.into, raw)
			}
			return nil
		})
		if err != nil {
			tc.trainErr = err
			return tc
		}
	}
	if len(tc.ham) == 0 || len(tc.spam) == 0 {
		tc.trainErr = errors.New("no test message judged right")
	}
	return tc
}

// sendable reports whether raw goes over SMTP unchanged: 7-bit lines of
// at most 998 octets, no line of a single dot.
func sendable(raw []byte) bool {
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if len(line) > 998 || string(line) == "." {
			return false
		}
		for _, c := range line {
			if c >= 0x80 || c == 0 {
				return false
			}
		}
	}
	return true
}

// startWithModel starts a server whose store holds the model as the
// global one before the server starts.
func startWithModel(t *testing.T, cfg *config.Config, model []byte) *Server {
	t.Helper()
	st, err := instance.OpenStore(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutFilterModel(t.Context(), 0, model); err != nil {
		t.Fatal(err)
	}
	st.Close()
	srv, _, _ := startServer(t, cfg)
	return srv
}

// sendRaw sends raw over SMTP on loopback to rcpt.
func sendRaw(t *testing.T, addr, rcpt string, raw []byte) {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, step := range []func() error{
		func() error { return c.Hello("client.test") },
		func() error { return c.Mail("sender@sender.test") },
		func() error { return c.Rcpt(rcpt) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("DATA: %v", err)
	}
	c.Quit()
}

// waitMessage waits for a message in the account's mailbox and returns
// its stored bytes.
func waitMessage(t *testing.T, srv *Server, address, mailbox string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if bodies := storetest.MailboxBodies(t, srv.Store(), address, mailbox); len(bodies) > 0 {
			return bodies[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing in %s", mailbox)
		}
	}
}

// TestClassifierOverSMTP: with the filter on (the default) and a model
// trained on the corpus's training split in the store, a spam message
// of the test split sent over SMTP lands in Junk, its X-Sealpost-Reasons
// naming the classifier, and a ham message in INBOX.
func TestClassifierOverSMTP(t *testing.T) {
	tc := trainCorpus(t)
	cfg := testConfig(t)
	cfg.Listeners.SMTP = "127.0.0.1:0"
	srv := startWithModel(t, cfg, tc.data)
	if _, err := srv.Accounts().AddAccount(t.Context(), "ann@example.org", "a long enough password", 0); err != nil {
		t.Fatal(err)
	}
	hamAcct, err := srv.Accounts().AddAccount(t.Context(), "bob@example.org", "a long enough password", 0)
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addrs()["smtp"].String()

	sendRaw(t, addr, "ann@example.org", tc.spam[0])
	got := waitMessage(t, srv, "ann@example.org", "Junk")
	if !strings.Contains(got, "X-Sealpost-Reasons: classifier.spam=") || !strings.Contains(got, "content looks like spam") {
		t.Errorf("spam in Junk without the classifier's reason:\n%s", headerOf(got))
	}
	if !strings.Contains(got, "(junk)") {
		t.Errorf("spam's score field:\n%s", headerOf(got))
	}

	sendRaw(t, addr, "bob@example.org", tc.ham[0])
	got = waitMessage(t, srv, "bob@example.org", "INBOX")
	if !strings.Contains(got, "X-Sealpost-Score: ") || strings.Contains(got, "(junk)") {
		t.Errorf("ham's header:\n%s", headerOf(got))
	}
	if ms, _ := listIn(t, srv, hamAcct.ID, "Junk"); len(ms) != 0 {
		t.Errorf("ham in Junk")
	}
}

func headerOf(msg string) string {
	h, _, _ := strings.Cut(msg, "\r\n\r\n")
	return h
}

func listIn(t *testing.T, srv *Server, accountID int64, mailbox string) ([]store.Message, error) {
	t.Helper()
	mb, err := srv.Store().GetMailbox(t.Context(), accountID, mailbox)
	if err != nil {
		t.Fatal(err)
	}
	return srv.Store().ListMessages(t.Context(), mb.ID, 0, 0)
}

// TestClassifierLearnsOverIMAP: a message moved into Junk over IMAP
// teaches the account's own model: the message, and a near copy of it,
// score higher for spam than the global model gives them; moving it back
// to INBOX takes the lesson back.
func TestClassifierLearnsOverIMAP(t *testing.T) {
	tc := trainCorpus(t)
	cfg := testConfig(t)
	cfg.Listeners.IMAPS = "127.0.0.1:0"
	srv := startWithModel(t, cfg, tc.data)
	ctx := t.Context()
	const pw = "a long enough password"
	a, err := srv.Accounts().AddAccount(ctx, "ann@example.org", pw, 0)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := srv.Store().GetMailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	msg := tc.ham[0]
	if _, err := srv.Store().Deliver(ctx, bytes.NewReader(msg), []store.Target{{MailboxID: inbox.ID}}); err != nil {
		t.Fatal(err)
	}
	near := nearCopy(msg)
	spamScore := func(raw []byte) float64 {
		var p *classify.Personal
		data, _, err := srv.Store().GetFilterModel(ctx, a.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			t.Fatal(err)
		default:
			if p, err = classify.UnmarshalPersonal(data); err != nil {
				t.Fatal(err)
			}
		}
		return classify.ScoreWith(tc.model, p, classify.Extract(content.Parse(raw))).Spam
	}
	before, nearBefore := spamScore(msg), spamScore(near)
	if before >= tc.model.Thresholds.Spam {
		t.Fatalf("the ham scores %v before any lesson", before)
	}

	c := dialIMAP(t, srv)
	c.login("ann@example.org", pw, "")
	if got := c.answer("s", "SELECT INBOX"); !strings.HasPrefix(got, "s OK") {
		t.Fatalf("SELECT: %q", got)
	}
	if got := c.answer("m", "MOVE 1 Junk"); !strings.HasPrefix(got, "m OK") {
		t.Fatalf("MOVE: %q", got)
	}
	learnt := waitModel(t, srv, a.ID, time.Time{})
	if s := spamScore(msg); s < tc.model.Thresholds.Spam || s <= before {
		t.Errorf("after the move into Junk the message scores %v (before %v, threshold %v)", s, before, tc.model.Thresholds.Spam)
	}
	if s := spamScore(near); s <= nearBefore {
		t.Errorf("after the move into Junk a near copy scores %v (before %v)", s, nearBefore)
	}

	if got := c.answer("s", "SELECT Junk"); !strings.HasPrefix(got, "s OK") {
		t.Fatalf("SELECT: %q", got)
	}
	if got := c.answer("m", "MOVE 1 INBOX"); !strings.HasPrefix(got, "m OK") {
		t.Fatalf("MOVE back: %q", got)
	}
	waitModel(t, srv, a.ID, learnt)
	if s := spamScore(msg); s > before+1e-6 {
		t.Errorf("after the move back the message scores %v, before any lesson %v", s, before)
	}
}

// nearCopy is raw with its Subject changed and a line added to the
// body: the same mail sent again, a little different.
func nearCopy(raw []byte) []byte {
	s := strings.Replace(string(raw), "Subject: ", "Subject: Re: ", 1)
	return []byte(s + "\nSent again, see below.\n")
}

// waitModel waits for the account's model to be saved after since and
// returns when it was.
func waitModel(t *testing.T, srv *Server, accountID int64, since time.Time) time.Time {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, updated, err := srv.Store().GetFilterModel(context.Background(), accountID)
		if err == nil && updated.After(since) {
			return updated
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no model saved for account %d after %v", accountID, since)
		}
	}
}
