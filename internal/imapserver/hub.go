package imapserver

import "sync"

// Hub tells sessions of this process that a mailbox changed. It carries no
// change itself: the store is the truth by MODSEQ, and every session pulls
// what happened since its own MODSEQ when rung.
//
// Every store writer of the process calls Changed after a commit that
// touches a mailbox (IMAP sessions, SMTP delivery, POP3 expunges), and the
// server relays the store's change feed (store.ChangeFeed), which reports
// commits by other processes and nodes too. IDLE's own look at the store
// every PollInterval is only a backstop.
type Hub struct {
	mu        sync.Mutex
	watches   map[int64]map[*watcher]struct{}
	listeners []func(mailboxID int64)
}

// OnChange adds f to the functions Changed calls, for the process's other
// followers of mailbox changes (the text indexer); ChangedAll calls it
// with 0. f must not block.
func (h *Hub) OnChange(f func(mailboxID int64)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.listeners = append(h.listeners, f)
}

// watcher is one doorbell: a function that must not block.
type watcher struct{ ring func() }

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{watches: map[int64]map[*watcher]struct{}{}} }

// Changed rings every watcher of mailboxID. It never blocks.
func (h *Hub) Changed(mailboxID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watches[mailboxID] {
		w.ring()
	}
	for _, f := range h.listeners {
		f(mailboxID)
	}
}

// ChangedAll rings every watcher, for when changes may have been missed,
// such as after a lost connection to a shared store.
func (h *Hub) ChangedAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.watches {
		for w := range m {
			w.ring()
		}
	}
	for _, f := range h.listeners {
		f(0)
	}
}

// watch has ring called after every change to mailboxID, until the
// returned function is called. Calling a function rather than sending on
// a channel spares every watching session a goroutine to receive.
func (h *Hub) watch(mailboxID int64, ring func()) (unwatch func()) {
	w := &watcher{ring: ring}
	h.mu.Lock()
	m := h.watches[mailboxID]
	if m == nil {
		m = map[*watcher]struct{}{}
		h.watches[mailboxID] = m
	}
	m[w] = struct{}{}
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.watches[mailboxID], w)
		if len(h.watches[mailboxID]) == 0 {
			delete(h.watches, mailboxID)
		}
		h.mu.Unlock()
	}
}
