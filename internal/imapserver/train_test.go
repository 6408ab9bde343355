package imapserver

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/filter/training"
	"sealpost.dev/sealpost/internal/store"
)

// lessons is a Learner that notes what it is taught: "learn spam one"
// (the message's subject).
type lessons struct {
	mu  sync.Mutex
	got []string
}

func (l *lessons) note(what string, raw []byte, class string) error {
	subject := ""
	for _, line := range strings.Split(string(raw), "\r\n") {
		if s, ok := strings.CutPrefix(line, "Subject: "); ok {
			subject = s
			break
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, what+" "+class+" "+subject)
	return nil
}

func (l *lessons) Learn(_ context.Context, _ int64, raw []byte, class string) error {
	return l.note("learn", raw, class)
}

func (l *lessons) Unlearn(_ context.Context, _ int64, raw []byte, class string) error {
	return l.note("unlearn", raw, class)
}

// wait returns the lessons once there are n, or fails after 10 s.
func (l *lessons) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		got := slices.Clone(l.got)
		if len(got) >= n {
			l.got = l.got[n:]
		}
		l.mu.Unlock()
		if len(got) >= n {
			return got[:n]
		}
		if time.Now().After(deadline) {
			t.Fatalf("lessons %q, waiting for %d", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTrainingOverIMAP: MOVE into Junk teaches spam; MOVE back to INBOX
// takes the spam lesson back and teaches ham; COPY into Phishing teaches
// phishing; a move between ordinary mailboxes teaches nothing. Real
// IMAP over TLS on loopback, the real training.Trainer on the store.
func TestTrainingOverIMAP(t *testing.T) {
	l := &lessons{}
	e := newEnvDeps(t, Limits{}, 0, func(d *Deps) {
		d.Trainer = &training.Trainer{Store: d.Store, Learner: l}
	})
	c := e.connect(t, "imaps", true)
	c.expect("CREATE Phishing", "OK")
	c.expect("SELECT INBOX", "OK")

	c.expect("UID MOVE 1 Junk", "OK")
	if got, want := l.wait(t, 1), []string{"learn spam one"}; !slices.Equal(got, want) {
		t.Errorf("after MOVE into Junk: %q, want %q", got, want)
	}

	c.expect("SELECT Junk", "OK")
	c.expect("MOVE 1 INBOX", "OK")
	if got, want := l.wait(t, 2), []string{"unlearn spam one", "learn ham one"}; !slices.Equal(got, want) {
		t.Errorf("after MOVE back to INBOX: %q, want %q", got, want)
	}

	c.expect("SELECT INBOX", "OK")
	c.expect("UID COPY 3 Phishing", "OK")
	if got, want := l.wait(t, 1), []string{"learn phish three"}; !slices.Equal(got, want) {
		t.Errorf("after COPY into Phishing: %q, want %q", got, want)
	}

	// Nothing to learn from INBOX → Archive; then a move into Junk shows
	// the queue is still in order behind it.
	c.expect("UID COPY 2 Archive", "OK")
	c.expect("UID COPY 2 Junk", "OK")
	if got, want := l.wait(t, 1), []string{"learn spam two"}; !slices.Equal(got, want) {
		t.Errorf("after COPY to Archive then Junk: %q, want %q", got, want)
	}
	if n := e.srvs[IMAPS].TrainingDropped(); n != 0 {
		t.Errorf("%d moves dropped", n)
	}
}

// blockingTrainer blocks every Moved until released, noting each call.
type blockingTrainer struct {
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	calls   int
}

func (b *blockingTrainer) Moved(ctx context.Context, _ int64, _, _ store.Mailbox, _ []int64) {
	b.mu.Lock()
	b.calls++
	b.mu.Unlock()
	b.entered <- struct{}{}
	<-b.release
}

// TestTrainerDoesNotHoldCommands: with the Trainer stuck, COPY and MOVE
// still answer at once.
func TestTrainerDoesNotHoldCommands(t *testing.T) {
	b := &blockingTrainer{entered: make(chan struct{}, 100), release: make(chan struct{})}
	e := newEnvDeps(t, Limits{}, 0, func(d *Deps) { d.Trainer = b })
	t.Cleanup(func() { close(b.release) })
	c := e.connect(t, "imaps", true)
	c.expect("SELECT INBOX", "OK")
	start := time.Now()
	for range 5 {
		c.expect("UID COPY 1:3 Junk", "OK")
	}
	c.expect("UID MOVE 1 Junk", "OK")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("commands took %v with the trainer stuck", d)
	}
	<-b.entered
}

// TestTrainQueueFull: beyond trainQueueLen waiting moves, moves are
// dropped and counted, and the rest still reach the Trainer.
func TestTrainQueueFull(t *testing.T) {
	b := &blockingTrainer{entered: make(chan struct{}, 2*trainQueueLen), release: make(chan struct{})}
	q := newTrainQueue(b, slog.New(slog.DiscardHandler))
	job := trainJob{accountID: 1, ids: []int64{1}}
	q.add(job)
	<-b.entered // the goroutine holds the first; the queue is empty
	for range trainQueueLen + 3 {
		q.add(job)
	}
	if n := q.dropped.Load(); n != 3 {
		t.Errorf("dropped %d, want 3", n)
	}
	q.add(trainJob{accountID: 1}) // no messages: nothing queued, nothing dropped
	close(b.release)
	q.stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b.mu.Lock()
		calls := b.calls
		b.mu.Unlock()
		if calls == 1+trainQueueLen {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls, want %d", calls, 1+trainQueueLen)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := q.dropped.Load(); n != 3 {
		t.Errorf("dropped %d, want 3", n)
	}
	var nilQueue *trainQueue
	nilQueue.add(job) // a server without a Trainer
	nilQueue.stop()
}
