package server

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/filter/classify"
	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/filter/corpus"
	"sealpost.dev/sealpost/internal/filter/training"
	"sealpost.dev/sealpost/internal/filter/usercorpus"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/storetest"
)

// TestServerLearnsFromItsUsers: a fresh server has no content classifier
// model; once its user has read and kept ham and reported spam (corpus
// mail of the training split), the retraining job makes one, and the
// next spam that comes over SMTP is filed into Junk by the classifier
// while ham reaches INBOX.
func TestServerLearnsFromItsUsers(t *testing.T) {
	needCorpus(t)
	cfg := testConfig(t)
	cfg.Listeners.SMTP = "127.0.0.1:0"
	srv, logs := newRecorded(t, cfg)
	ctx := t.Context()
	acct, err := srv.Accounts().AddAccount(ctx, "ann@example.org", "a long enough password", 0)
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := srv.Store().GetMailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	junk, err := srv.Store().GetMailbox(ctx, acct.ID, "Junk")
	if err != nil {
		t.Fatal(err)
	}
	// What ann did over the past week: read and kept 200 ham messages
	// and reported 200 spam (moved into Junk, as training records it),
	// the fewest a model is made from.
	weekAgo := time.Now().Add(-7 * 24 * time.Hour)
	for _, d := range []struct {
		dir string
		mb  store.Mailbox
	}{{"easy_ham", inbox}, {"spam", junk}} {
		n := 0
		err := corpus.Read(filepath.Join(corpusDir, d.dir), func(_ string, raw []byte) error {
			if n == usercorpus.DefaultMinHam || corpus.SplitOf(raw) != corpus.Train {
				return nil
			}
			n++
			ms, err := srv.Store().Deliver(ctx, bytes.NewReader(raw), []store.Target{{MailboxID: d.mb.ID, Flags: []string{`\Seen`}, InternalDate: weekAgo}})
			if err != nil {
				return err
			}
			if d.mb.ID == junk.ID {
				return srv.trainer.Teach(ctx, acct.ID, ms[0], training.Spam)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := srv.Store().GetFilterModel(ctx, 0); err == nil {
		t.Fatal("a fresh server has a model")
	}

	srv.retrainFirst = time.Millisecond
	runUntilEnd(t, srv)
	for deadline := time.Now().Add(3 * time.Minute); !logs.has("content classifier model made from the users' mail"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) || logs.has("too little reported mail") || logs.has("WARN filter: retraining") {
			t.Fatalf("no model made; log:\n%s", logs.String())
		}
	}
	if !logs.has("ham=200 spam=200 phish=0") {
		t.Errorf("counts not logged as expected; log:\n%s", logs.String())
	}
	data, _, err := srv.Store().GetFilterModel(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	model, err := classify.UnmarshalModel(data)
	if err != nil {
		t.Fatal(err)
	}

	// Mail of the test split that the new model judges as what it is
	// (the model's accuracy is measured elsewhere; this is the wiring).
	pick := func(dir string, want classify.Class) []byte {
		var got []byte
		err := corpus.Read(filepath.Join(corpusDir, dir), func(_ string, raw []byte) error {
			if got == nil && corpus.SplitOf(raw) == corpus.Test && sendable(raw) &&
				model.Classify(classify.Extract(content.Parse(raw))) == want {
				got = raw
			}
			return nil
		})
		if err != nil || got == nil {
			t.Fatalf("no %s message judged %v: %v", dir, want, err)
		}
		return got
	}
	addr := srv.Addrs()["smtp"].String()
	sendRaw(t, addr, "ann@example.org", pick("spam", classify.Spam))
	got := waitNew(t, srv, "ann@example.org", "Junk", 200)
	if !strings.Contains(got, "classifier.spam=") {
		t.Errorf("spam in Junk without the classifier's reason:\n%s", headerOf(got))
	}
	sendRaw(t, addr, "ann@example.org", pick("easy_ham", classify.Ham))
	if got := waitNew(t, srv, "ann@example.org", "INBOX", 200); strings.Contains(got, "(junk)") {
		t.Errorf("ham judged junk:\n%s", headerOf(got))
	}
}

// waitNew waits for a message past the first had in an account's mailbox
// and returns it.
func waitNew(t *testing.T, srv *Server, address, mailbox string, had int) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if bodies := storetest.MailboxBodies(t, srv.Store(), address, mailbox); len(bodies) > had {
			return bodies[len(bodies)-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing new in %s of %s", mailbox, address)
		}
	}
}

// TestRetrainKeepsCorpusModel: a model stored before the server knew
// where models come from (no source recorded) is taken for an
// administrator's and kept, and the server says so.
func TestRetrainKeepsCorpusModel(t *testing.T) {
	cfg := testConfig(t)
	var set classify.Set
	for i := range 20 {
		set.Add(content.Parse([]byte(fmt.Sprintf("Subject: meeting notes %d\r\n\r\nagenda\r\n", i))), classify.Ham)
		set.Add(content.Parse([]byte(fmt.Sprintf("Subject: casino bonus %d\r\n\r\nwinner\r\n", i))), classify.Spam)
	}
	m, err := classify.Train(set.Examples, classify.TrainOptions{Bits: 12, Folds: 2, Fits: 1})
	if err != nil {
		t.Fatal(err)
	}
	data, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	srv, logs := newRecorded(t, cfg)
	ctx := t.Context()
	if err := srv.Store().PutFilterModel(ctx, 0, data); err != nil {
		t.Fatal(err)
	}
	_, before, _ := srv.Store().GetFilterModel(ctx, 0)
	srv.retrainFirst = time.Millisecond
	runUntilEnd(t, srv)
	const kept = "not retraining it from the users' mail"
	for deadline := time.Now().Add(20 * time.Second); !logs.has(kept); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not logged in 20 s; log:\n%s", logs.String())
		}
	}
	if _, after, _ := srv.Store().GetFilterModel(ctx, 0); !after.Equal(before) {
		t.Error("the model was replaced")
	}
}

// newRecorded makes a server on loopback whose log is recorded; it does
// not run yet (runUntilEnd), so that a test can set it up first.
func newRecorded(t *testing.T, cfg *config.Config) (*Server, *logRecorder) {
	t.Helper()
	logs := &logRecorder{}
	srv, err := New(t.Context(), Options{Config: cfg, Resolver: dnsx.NewStub(dnsx.NewZone(), nil), Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	return srv, logs
}

// runUntilEnd runs srv until the test ends.
func runUntilEnd(t *testing.T, srv *Server) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}
