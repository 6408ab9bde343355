package imapserver

import (
	"errors"
	"net"
	"sync"
	"time"

	"sealpost.dev/sealpost/internal/imap"
)

// idle answers IDLE (RFC 2177, RFC 9051 §6.3.13). The session's own
// goroutine waits: it wakes when the hub rings (a write by this process),
// every PollInterval to look at the store for writers that do not ring the
// hub, and when the client sends DONE.
func (ss *session) idle(cmd *imap.Command) bool {
	if err := ss.w.Continue("idling"); err != nil {
		return false
	}
	stop := make(chan struct{})
	defer close(stop)
	var mu sync.Mutex
	// A ring while the session is not peeking (it is writing what it
	// found) is kept in rung, so that it looks again at once.
	peeking, rung := false, false
	var bell, notifyBell <-chan struct{}
	if ss.sel != nil {
		bell = ss.sel.bell
	}
	if ss.notify != nil {
		notifyBell = ss.notify.bell
	}
	if bell != nil || notifyBell != nil {
		go func() {
			for {
				select {
				case <-bell:
				case <-notifyBell:
				case <-stop:
					return
				}
				mu.Lock()
				if peeking {
					ss.raw.SetReadDeadline(time.Now())
				} else {
					rung = true
				}
				mu.Unlock()
			}
		}()
	}
	ss.busy.Store(false)
	defer ss.busy.Store(true)
	deadline := time.Now().Add(ss.srv.cfg.Limits.IdleTimeout)
	for {
		if ss.closing.Load() {
			return true // the loop says BYE
		}
		if time.Now().After(deadline) {
			ss.w.Status("*", "BYE", "", "autologout: idle for too long")
			return false
		}
		mu.Lock()
		peeking = true
		wait := ss.srv.cfg.Limits.PollInterval
		if rung {
			rung, wait = false, 0
		}
		ss.conn.SetReadDeadline(time.Now().Add(wait))
		mu.Unlock()
		_, err := ss.br.Peek(1)
		mu.Lock()
		peeking = false
		mu.Unlock()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			ss.syncEnd(cmd, true)
			if ss.notify != nil && !ss.announceNow() {
				return false
			}
			if err := ss.w.Flush(); err != nil {
				return false
			}
			continue
		}
		if err != nil {
			return false
		}
		ss.conn.SetReadDeadline(time.Now().Add(time.Minute))
		if err := ss.r.ReadDone(); err != nil {
			var se *imap.SyntaxError
			if errors.As(err, &se) {
				ss.w.Status(cmd.Tag, "BAD", "", "expected DONE")
				return !ss.tooManyErrors()
			}
			return false
		}
		ss.syncEnd(cmd, true)
		return ss.ok(cmd.Tag, "IDLE terminated")
	}
}
