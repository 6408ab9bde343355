package imapserver

import "sync"

// Hub tells sessions of this process that a mailbox, or an account's set
// of mailboxes, changed. It carries no change itself: the store is the
// truth by MODSEQ, and every session pulls what happened since its own
// MODSEQ when rung. A session under NOTIFY (RFC 5465) watches its whole
// account and compares the mailbox list with the one it saw last.
//
// Every store writer of the process should call Changed after a commit
// that touches a mailbox, and AccountChanged after one that touches an
// account's mailboxes or subscriptions: the IMAP sessions do; SMTP
// delivery and POP3 expunges do not yet, which is why IDLE and NOTIFY
// also poll the store.
type Hub struct {
	mu      sync.Mutex
	watches map[hubKey]map[chan struct{}]struct{}
	// owners maps the mailboxes of watched accounts to their account, so
	// that Changed, which writers call knowing only the mailbox, also
	// rings the account's watchers.
	owners map[int64]int64
}

// hubKey names what a doorbell is for: a mailbox, or an account.
type hubKey struct {
	account bool
	id      int64
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{watches: map[hubKey]map[chan struct{}]struct{}{}, owners: map[int64]int64{}}
}

// Changed rings every watcher of mailboxID. It never blocks: a watcher
// that has not consumed its previous ring is already due to look.
func (h *Hub) Changed(mailboxID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ringLocked(hubKey{id: mailboxID})
	if acc, ok := h.owners[mailboxID]; ok {
		h.ringLocked(hubKey{account: true, id: acc})
	}
}

// AccountChanged rings every watcher of the account: a message, flag,
// mailbox or subscription of it changed.
func (h *Hub) AccountChanged(accountID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ringLocked(hubKey{account: true, id: accountID})
}

func (h *Hub) ringLocked(k hubKey) {
	for ch := range h.watches[k] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// watch returns a doorbell for mailboxID and the function that removes it.
func (h *Hub) watch(mailboxID int64) (<-chan struct{}, func()) {
	return h.add(hubKey{id: mailboxID})
}

// watchAccount returns a doorbell for the account and the function that
// removes it.
func (h *Hub) watchAccount(accountID int64) (<-chan struct{}, func()) {
	return h.add(hubKey{account: true, id: accountID})
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

func (h *Hub) add(k hubKey) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	m := h.watches[k]
	if m == nil {
		m = map[chan struct{}]struct{}{}
		h.watches[k] = m
	}
	m[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.watches[k], ch)
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
