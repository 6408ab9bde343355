package interop

import (
	"fmt"
	"net/smtp"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestKillDuringDelivery sends up to 500 messages on 8 connections to the
// MX port, kills the server with SIGKILL part way, restarts it, and
// requires every message that was answered 250 to be in the store exactly
// once.
func TestKillDuringDelivery(t *testing.T) {
	const total, conns, killAfter = 500, 8, 150
	dir := filepath.Join(t.TempDir(), "data")
	base := freePortBase(t)
	d := startDev(t, dir, base, 10*time.Second)
	addr := d.addr(d.config.Ports["smtp"])

	var (
		mu     sync.Mutex
		acked  []string
		next   atomic.Int64
		killed = make(chan struct{})
		once   sync.Once
	)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			c, err := smtp.Dial(addr)
			if err != nil {
				return
			}
			defer c.Close()
			if c.Hello("load.example") != nil {
				return
			}
			for {
				n := next.Add(1)
				if n > total {
					return
				}
				subject := fmt.Sprintf("crash-test-%04d", n)
				if err := send(c, subject, d.config.User); err != nil {
					return // the server died mid-transaction: not acknowledged
				}
				mu.Lock()
				acked = append(acked, subject)
				if len(acked) == killAfter {
					once.Do(func() {
						d.cmd.Process.Signal(syscall.SIGKILL)
						close(killed)
					})
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	select {
	case <-killed:
	default:
		t.Fatalf("only %d messages were acknowledged before the clients stopped", len(acked))
	}
	<-d.done

	d2 := startDev(t, dir, base, 10*time.Second)
	d2.stop(t, 10*time.Second)
	subjects := strings.Split(inboxSubjects(t, dir, d.config.User), "; ")
	count := map[string]int{}
	for _, s := range subjects {
		count[s]++
	}
	for _, s := range acked {
		if count[s] != 1 {
			t.Errorf("acknowledged message %s is in the store %d times", s, count[s])
		}
	}
	for s, n := range count {
		if n > 1 {
			t.Errorf("message %s stored %d times", s, n)
		}
	}
	t.Logf("%d acknowledged before the kill, %d in the store after restart", len(acked), len(subjects))
}

func send(c *smtp.Client, subject, to string) error {
	if err := c.Mail("load@far.example"); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "From: load@far.example\r\nSubject: %s\r\n\r\n%s\r\n", subject, strings.Repeat("body line\r\n", 20))
	return w.Close() // returns the reply to the end of data
}
