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
	mu      sync.Mutex
	watches map[int64]map[chan struct{}]struct{}
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
}

// ChangedAll rings every watcher, for when changes may have been missed,
// such as after a lost connection to a shared store.
func (h *Hub) ChangedAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.watches {
		for ch := range m {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
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
