package imapserver

import (
	"errors"
	"time"

	"sealpost.dev/sealpost/internal/imap"
)

// idle answers IDLE (RFC 2177, RFC 9051 §6.3.13). The session's own
// goroutine waits for DONE, holding no buffer (see io.go). Its read wakes
// when the hub rings (a write by this process, or one the hub's poller
// saw, moves the read deadline to now); keepWaiting then brings the
// client up to date and the read goes on.
func (ss *session) idle(cmd *imap.Command) bool {
	if err := ss.w.Continue("idling"); err != nil {
		return false
	}
	ss.busy.Store(false)
	defer ss.busy.Store(true)
	ss.idleUntil = time.Now().Add(ss.srv.cfg.Limits.IdleTimeout)
	ss.idleCmd = cmd
	ss.setIdling(true)
	ss.releaseBuffers()
	err := ss.readCommandBuffer()
	ss.setIdling(false)
	ss.idleCmd = nil
	if err == nil {
		ss.conn.SetReadDeadline(time.Now().Add(time.Minute))
		err = ss.r.ReadDone()
	}
	var se *imap.SyntaxError
	switch {
	case ss.closing.Load():
		return true // the loop says BYE
	case errors.As(err, &se):
		ss.w.Status(cmd.Tag, "BAD", "", "expected DONE")
		return !ss.tooManyErrors()
	case isTimeout(err) && !time.Now().Before(ss.idleUntil):
		ss.w.Status("*", "BYE", "", "autologout: idle for too long")
		return false
	case err != nil:
		return false
	}
	ss.syncEnd(cmd, true)
	return ss.ok(cmd.Tag, "IDLE terminated")
}

// setIdling starts or ends the wait of IDLE, which looks at the store at
// once if the hub rang since the last command.
func (ss *session) setIdling(on bool) {
	ss.idleMu.Lock()
	defer ss.idleMu.Unlock()
	ss.idling = on
	if !on {
		return
	}
	next := ss.idleUntil
	if ss.rung {
		next = time.Now()
	}
	ss.conn.SetReadDeadline(next)
}

// ring is the hub's doorbell for the selected mailbox. It never blocks.
func (ss *session) ring() {
	ss.idleMu.Lock()
	ss.rung = true
	if ss.idling {
		ss.raw.SetReadDeadline(time.Now())
	}
	ss.idleMu.Unlock()
}
