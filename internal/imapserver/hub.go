package imapserver

import "sync"

// Hub tells sessions of this process that a mailbox, or an account's set
// of mailboxes, changed. It carries no change itself: the store is the
// truth by MODSEQ, and every session pulls what happened since its own
// MODSEQ when rung. A session under NOTIFY (RFC 5465) watches its whole
// account and compares the mailbox list with the one it saw last.
//
// Every store writer of the process calls Changed after a commit that
// touches a mailbox (IMAP sessions, SMTP delivery, POP3 expunges), and
// AccountChanged after one that touches an account's mailboxes or
// subscriptions; the server relays the store's change feed
// (store.ChangeFeed), which reports commits by other processes and nodes
// too. IDLE's and NOTIFY's own looks at the store every PollInterval are
// only a backstop.
type Hub struct {
	mu      sync.Mutex
	watches map[hubKey]map[*watcher]struct{}
	// owners maps the mailboxes of watched accounts to their account, so
	// that Changed, which writers call knowing only the mailbox, also
	// rings the account's watchers.
	owners    map[int64]int64
	listeners []func(mailboxID int64)
}

// hubKey names what a doorbell is for: a mailbox, or an account.
type hubKey struct {
	account bool
	id      int64
}

// watcher is one doorbell: a function that must not block. Calling a
// function rather than sending on a channel spares every watching session
// a goroutine to receive.
type watcher struct{ ring func() }

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{watches: map[hubKey]map[*watcher]struct{}{}, owners: map[int64]int64{}}
}

// OnChange adds f to the functions Changed calls, for the process's other
// followers of mailbox changes (the text indexer); ChangedAll calls it
// with 0. f must not block.
func (h *Hub) OnChange(f func(mailboxID int64)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.listeners = append(h.listeners, f)
}

// Changed rings every watcher of mailboxID and of its account. It never
// blocks.
func (h *Hub) Changed(mailboxID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ringLocked(hubKey{id: mailboxID})
	if acc, ok := h.owners[mailboxID]; ok {
		h.ringLocked(hubKey{account: true, id: acc})
	}
	for _, f := range h.listeners {
		f(mailboxID)
	}
}

// AccountChanged rings every watcher of the account: a message, flag,
// mailbox or subscription of it changed.
func (h *Hub) AccountChanged(accountID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ringLocked(hubKey{account: true, id: accountID})
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

func (h *Hub) ringLocked(k hubKey) {
	for w := range h.watches[k] {
		w.ring()
	}
}

// watch has ring called after every change to mailboxID, until the
// returned function is called.
func (h *Hub) watch(mailboxID int64, ring func()) (unwatch func()) {
	return h.add(hubKey{id: mailboxID}, ring)
}

// watchAccount has ring called after every change to the account, until
// the returned function is called.
func (h *Hub) watchAccount(accountID int64, ring func()) (unwatch func()) {
	return h.add(hubKey{account: true, id: accountID}, ring)
}

// own records that the mailboxes belong to the account, while someone
// watches it.
func (h *Hub) own(accountID int64, mailboxIDs []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.watches[hubKey{account: true, id: accountID}]) == 0 {
		return
	}
	for _, id := range mailboxIDs {
		h.owners[id] = accountID
	}
}

func (h *Hub) add(k hubKey, ring func()) func() {
	w := &watcher{ring: ring}
	h.mu.Lock()
	m := h.watches[k]
	if m == nil {
		m = map[*watcher]struct{}{}
		h.watches[k] = m
	}
	m[w] = struct{}{}
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.watches[k], w)
		if len(h.watches[k]) == 0 {
			delete(h.watches, k)
			if k.account {
				for mb, acc := range h.owners {
					if acc == k.id {
						delete(h.owners, mb)
					}
				}
			}
		}
		h.mu.Unlock()
	}
}
