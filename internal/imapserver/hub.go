package imapserver

import "sync"

// Hub tells sessions of this process that a mailbox changed. It carries no
// change itself: the store is the truth by MODSEQ, and every session pulls
// what happened since its own MODSEQ when rung.
//
// Every store writer of the process should call Changed after a commit
// that touches a mailbox: the IMAP sessions do; SMTP delivery and POP3
// expunges do not yet, which is why IDLE also polls the store.
type Hub struct {
	mu        sync.Mutex
	watches   map[int64]map[chan struct{}]struct{}
	listeners []func(mailboxID int64)
}

// OnChange adds f to the functions Changed calls, for the process's other
// followers of mailbox changes (the text indexer). f must not block.
func (h *Hub) OnChange(f func(mailboxID int64)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.listeners = append(h.listeners, f)
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{watches: map[int64]map[chan struct{}]struct{}{}} }

// Changed rings every watcher of mailboxID. It never blocks: a watcher
// that has not consumed its previous ring is already due to look.
func (h *Hub) Changed(mailboxID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.watches[mailboxID] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	for _, f := range h.listeners {
		f(mailboxID)
	}
}

// watch returns a doorbell for mailboxID and the function that removes it.
func (h *Hub) watch(mailboxID int64) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	m := h.watches[mailboxID]
	if m == nil {
		m = map[chan struct{}]struct{}{}
		h.watches[mailboxID] = m
	}
	m[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.watches[mailboxID], ch)
		if len(h.watches[mailboxID]) == 0 {
			delete(h.watches, mailboxID)
		}
		h.mu.Unlock()
	}
}
