package storetest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// CrashOptions tells Crash how to make and open the store under test.
type CrashOptions struct {
	// Fresh prepares empty storage and returns where it is: a directory,
	// a DSN, anything Open understands. It runs in the parent process only.
	Fresh func(t *testing.T) string
	// Open opens the store at location, in the parent (after every kill) and
	// in the child process. Crash closes the stores it opens in the parent;
	// Open should not register a cleanup that closes them again.
	Open func(t testing.TB, location string) store.Store
	// Rounds is how many child processes are started and killed, one after
	// the other on the same storage. Zero means 3.
	Rounds int
}

// Environment of the child process.
const (
	envCrashLocation = "SEALPOST_STORETEST_CRASH_LOCATION"
	envCrashTargets  = "SEALPOST_STORETEST_CRASH_TARGETS"
)

// Crash is the crash-consistency test. Call it from a test of its own:
//
//	func TestCrash(t *testing.T) { storetest.Crash(t, opts) }
//
// In the parent process it prepares a store, then, for each round, runs the
// test binary again as a child selected by environment variables (the same
// test, so the child ends up in Crash too), waits until the child has
// acknowledged a delivery, kills it with SIGKILL at a random moment, reopens
// the store and checks it with CheckConsistent and that every delivery the
// child acknowledged is there (and every message it acknowledged expunging
// is not).
//
// The child delivers messages of random sizes to three mailboxes in a loop,
// changes flags, expunges, and runs queue items through, and prints a line
// for each change only after the call that made it returned. It stops by
// itself after 60 seconds if not killed.
func Crash(t *testing.T, opts CrashOptions) {
	if loc := os.Getenv(envCrashLocation); loc != "" {
		crashChild(t, opts, loc)
		return
	}
	if opts.Rounds <= 0 {
		opts.Rounds = 3
	}
	loc := opts.Fresh(t)
	s := opts.Open(t, loc)
	f := newFixture(t, s)
	mailboxes := []int64{f.inbox.ID, f.archive.ID, f.bob1.ID}
	targets := fmt.Sprintf("%d,%d,%d", mailboxes[0], mailboxes[1], mailboxes[2])
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	acked := map[msgKey]int64{} // delivered, by mailbox and UID, to message ID
	gone := map[msgKey]bool{}   // acknowledged expunges
	// Expunges the child started: one may have committed just before the
	// kill, with its acknowledgement never printed.
	started := map[msgKey]bool{}
	for round := range opts.Rounds {
		recs, stderr := runAndKill(t, loc, targets)
		var nAck, nGone int
		for _, r := range recs {
			switch {
			case r.expunging:
				started[r.key] = true
			case r.gone:
				gone[r.key] = true
				nGone++
			default:
				acked[r.key] = r.id
				nAck++
			}
		}
		t.Logf("round %d: child acknowledged %d copies delivered and %d expunged before the kill", round, nAck, nGone)

		s := opts.Open(t, loc)
		CheckConsistent(t, s)
		checkAcked(t, s, acked, gone, started)
		checkAllOrNothing(t, s, mailboxes)
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("child stderr:\n%s", stderr)
			return
		}
	}
}

type msgKey struct {
	mailbox int64
	uid     uint32
}

// record is one acknowledged change printed by the child.
type record struct {
	key       msgKey
	id        int64
	gone      bool
	expunging bool // the child is about to expunge it
}

// runAndKill runs one child, kills it at a random moment after its first
// acknowledgement and returns what it acknowledged and its stderr.
func runAndKill(t *testing.T, loc, targets string) ([]record, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run="+runPattern(t.Name()), "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), envCrashLocation+"="+loc, envCrashTargets+"="+targets)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		recs  []record
		first = make(chan struct{})
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			rs, ok := parseRecord(sc.Text())
			if !ok {
				continue
			}
			mu.Lock()
			if len(recs) == 0 {
				close(first)
			}
			recs = append(recs, rs...)
			mu.Unlock()
		}
	}()
	select {
	case <-first:
		time.Sleep(time.Duration(rand.IntN(400)) * time.Millisecond)
	case <-done:
	case <-time.After(90 * time.Second):
	}
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("kill: %v", err)
	}
	<-done
	err = cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(recs) == 0 {
		t.Fatalf("child acknowledged nothing (%v); stderr:\n%s", err, stderr.String())
	}
	return recs, stderr.String()
}

// parseRecord reads "ack MB:UID:ID ... ok", "expunging MB:UID ok" and
// "gone MB:UID ok". A line cut short by the kill lacks its final "ok" and
// is ignored.
func parseRecord(line string) ([]record, bool) {
	fields := strings.Fields(line)
	if len(fields) < 3 || fields[len(fields)-1] != "ok" || (fields[0] != "ack" && fields[0] != "gone" && fields[0] != "expunging") {
		return nil, false
	}
	var out []record
	for _, f := range fields[1 : len(fields)-1] {
		parts := strings.Split(f, ":")
		if len(parts) < 2 {
			return nil, false
		}
		mb, err1 := strconv.ParseInt(parts[0], 10, 64)
		uid, err2 := strconv.ParseUint(parts[1], 10, 32)
		if err1 != nil || err2 != nil {
			return nil, false
		}
		r := record{key: msgKey{mb, uint32(uid)}, gone: fields[0] == "gone", expunging: fields[0] == "expunging"}
		if fields[0] == "ack" {
			if len(parts) != 3 {
				return nil, false
			}
			if r.id, err1 = strconv.ParseInt(parts[2], 10, 64); err1 != nil {
				return nil, false
			}
		}
		out = append(out, r)
	}
	return out, true
}

func checkAcked(t *testing.T, s store.Store, acked map[msgKey]int64, gone, started map[msgKey]bool) {
	t.Helper()
	ctx := context.Background()
	for k, id := range acked {
		m, err := s.GetMessage(ctx, k.mailbox, k.uid)
		if gone[k] {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("mailbox %d UID %d: expunge was acknowledged, but GetMessage = %v", k.mailbox, k.uid, err)
			}
			continue
		}
		if errors.Is(err, store.ErrNotFound) && started[k] {
			continue // its expunge committed; the kill came before the acknowledgement
		}
		if err != nil {
			t.Errorf("mailbox %d UID %d: delivery was acknowledged, but: %v", k.mailbox, k.uid, err)
			continue
		}
		if m.ID != id {
			t.Errorf("mailbox %d UID %d: message ID %d, acknowledged as %d", k.mailbox, k.uid, m.ID, id)
		}
	}
}

// checkAllOrNothing: every delivery of the child goes to all the mailboxes
// and nothing else appends to them, so, if deliveries are atomic, they all
// have the same UIDNEXT whatever moment the kill came.
func checkAllOrNothing(t *testing.T, s store.Store, mailboxes []int64) {
	t.Helper()
	var next []uint32
	for _, id := range mailboxes {
		mb, err := s.GetMailboxByID(context.Background(), id)
		if err != nil {
			t.Error(err)
			return
		}
		next = append(next, mb.UIDNext)
	}
	for _, n := range next[1:] {
		if n != next[0] {
			t.Errorf("a delivery was cut in half by the kill: UIDNEXT of the target mailboxes = %v", next)
			return
		}
	}
}

// runPattern matches exactly the test named name, subtests included.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// crashChild is the child's side: change the store in a loop, acknowledging
// each change on stdout once it returned, until killed.
func crashChild(t *testing.T, opts CrashOptions, loc string) {
	var targets []store.Target
	for _, f := range strings.Split(os.Getenv(envCrashTargets), ",") {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("bad %s: %v", envCrashTargets, err)
		}
		targets = append(targets, store.Target{MailboxID: id})
	}
	s := opts.Open(t, loc)
	ctx := context.Background()
	say := func(line string) {
		// One write per line, so a kill never leaves half a line that looks
		// whole.
		if _, err := os.Stdout.WriteString(line); err != nil {
			t.Fatal(err)
		}
	}
	var live []store.Message // copies in the first target, oldest first
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; i < 100000 && time.Now().Before(deadline); i++ {
		body := fmt.Sprintf("Subject: crash %d\r\n\r\n%s\r\n", i, strings.Repeat("x", rand.IntN(16384)))
		ms, err := s.Deliver(ctx, strings.NewReader(body), targets)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		b.WriteString("ack")
		for _, m := range ms {
			fmt.Fprintf(&b, " %d:%d:%d", m.MailboxID, m.UID, m.ID)
		}
		b.WriteString(" ok\n")
		say(b.String())
		live = append(live, ms[0])
		switch {
		case i%8 == 7:
			m := live[0]
			live = live[1:]
			say(fmt.Sprintf("expunging %d:%d ok\n", m.MailboxID, m.UID))
			if _, err := s.Expunge(ctx, m.MailboxID, []uint32{m.UID}); err != nil {
				t.Fatal(err)
			}
			say(fmt.Sprintf("gone %d:%d ok\n", m.MailboxID, m.UID))
		case i%4 == 3:
			m := live[rand.IntN(len(live))]
			if _, err := s.UpdateFlags(ctx, store.FlagUpdate{MailboxID: m.MailboxID, UIDs: []uint32{m.UID},
				Op: store.FlagsAdd, Flags: []string{`\Seen`}}); err != nil {
				t.Fatal(err)
			}
		case i%16 == 5:
			crashQueueStep(t, s, i)
		}
	}
}

// crashQueueStep puts an item through the queue: enqueue, claim, finish.
func crashQueueStep(t *testing.T, s store.Store, i int) {
	ctx := context.Background()
	if _, err := s.Enqueue(ctx, strings.NewReader(fmt.Sprint("queued ", i)), store.NewQueueItem{From: "a@crash.test",
		Recipients: []store.NewQueueRecipient{{Address: "r@elsewhere.test"}}}); err != nil {
		t.Fatal(err)
	}
	items, err := s.ClaimDue(ctx, "crash", time.Now(), time.Minute, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := s.FinishAttempt(ctx, store.QueueUpdate{ID: it.ID, ClaimToken: it.ClaimToken,
			Recipients: []store.QueueRecipient{{Address: "r@elsewhere.test", Done: true}}}); err != nil {
			t.Fatal(err)
		}
	}
}
