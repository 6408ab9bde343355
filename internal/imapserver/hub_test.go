package imapserver

import (
	"testing"
	"time"
)

func hubState(h *Hub) (watchers int, polling bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, mw := range h.watches {
		watchers += len(mw.watchers)
	}
	return watchers, h.polling
}

// TestHubForgetsEndedSessions: a session that ends with a mailbox
// selected leaves the hub, which would otherwise keep the whole session,
// and the poller stops once nobody watches.
func TestHubForgetsEndedSessions(t *testing.T) {
	e := newEnv(t, Limits{PollInterval: 50 * time.Millisecond}, 0)
	hub := e.srvs[IMAPS].hub
	a := e.connect(t, "imaps", true)
	b := e.connect(t, "starttls", true)
	a.expect("SELECT INBOX", "OK")
	b.expect("EXAMINE INBOX", "OK")
	if n, polling := hubState(hub); n != 2 || !polling {
		t.Fatalf("%d watchers, polling %v; want 2 and a poller", n, polling)
	}
	a.expect("LOGOUT", "OK")
	b.conn.Close() // no LOGOUT: the connection just goes
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, polling := hubState(hub)
		if n == 0 && !polling {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the sessions ended: %d watchers, polling %v", n, polling)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
