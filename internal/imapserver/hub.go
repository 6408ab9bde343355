package imapserver

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

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
// too. As a backstop for writers that reach it by neither way, the hub
// polls: while sessions watch, one goroutine reads the HIGHESTMODSEQ of
// each watched mailbox every poll interval and rings its watchers when it
// moved. Idle sessions thus sleep until something changed, however many
// watch one mailbox, instead of each reading the store on a timer.
type Hub struct {
	mu      sync.Mutex
	watches map[hubKey]*hubWatch
	polling bool
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

// hubWatch is the watchers of one mailbox or account and, for a mailbox,
// the HIGHESTMODSEQ the poller last saw (seen is false until it has
// looked once).
type hubWatch struct {
	watchers map[*watcher]struct{}
	modseq   uint64
	seen     bool
}

// watcher is one doorbell: a function that must not block. Calling a
// function rather than sending on a channel spares every watching session
// a goroutine to receive.
type watcher struct{ ring func() }

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{watches: map[hubKey]*hubWatch{}, owners: map[int64]int64{}}
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
	for _, hw := range h.watches {
		for w := range hw.watchers {
			w.ring()
		}
	}
	for _, f := range h.listeners {
		f(0)
	}
}

func (h *Hub) ringLocked(k hubKey) {
	if hw := h.watches[k]; hw != nil {
		for w := range hw.watchers {
			w.ring()
		}
	}
}

// watch has ring called after every change to mailboxID, until the
// returned function is called. The first watch starts the poller, which
// reads st every interval and ends when nobody watches.
func (h *Hub) watch(mailboxID int64, ring func(), st store.Store, interval time.Duration, log *slog.Logger) (unwatch func()) {
	unwatch = h.add(hubKey{id: mailboxID}, ring)
	h.mu.Lock()
	if !h.polling {
		h.polling = true
		go h.poll(st, interval, log)
	}
	h.mu.Unlock()
	return unwatch
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
	if h.watches[hubKey{account: true, id: accountID}] == nil {
		return
	}
	for _, id := range mailboxIDs {
		h.owners[id] = accountID
	}
}

func (h *Hub) add(k hubKey, ring func()) func() {
	w := &watcher{ring: ring}
	h.mu.Lock()
	hw := h.watches[k]
	if hw == nil {
		hw = &hubWatch{watchers: map[*watcher]struct{}{}}
		h.watches[k] = hw
	}
	hw.watchers[w] = struct{}{}
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(hw.watchers, w)
		if len(hw.watchers) > 0 || h.watches[k] != hw {
			return
		}
		delete(h.watches, k)
		if k.account {
			for mb, acc := range h.owners {
				if acc == k.id {
					delete(h.owners, mb)
				}
			}
		}
	}
}

// poll looks at the watched mailboxes every interval, until none is
// watched. A mailbox's first look rings its watchers too: a change made
// between a session's last look and the watch must not go unheard.
func (h *Hub) poll(st store.Store, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for range t.C {
		h.mu.Lock()
		var ids []int64
		for k := range h.watches {
			if !k.account {
				ids = append(ids, k.id)
			}
		}
		if len(ids) == 0 {
			h.polling = false
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
		for _, id := range ids {
			h.look(st, id, interval, log)
		}
	}
}

// look reads one mailbox's HIGHESTMODSEQ and rings its watchers if it
// moved, or if the mailbox is gone (they find out when they look).
func (h *Hub) look(st store.Store, id int64, timeout time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), max(timeout, 5*time.Second))
	defer cancel()
	mb, err := st.GetMailboxByID(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		log.Warn("hub poll", "mailbox", id, "err", err)
		return
	}
	h.mu.Lock()
	hw := h.watches[hubKey{id: id}]
	moved := hw != nil && (err != nil || !hw.seen || mb.HighestModSeq != hw.modseq)
	if moved {
		hw.modseq, hw.seen = mb.HighestModSeq, true
	}
	h.mu.Unlock()
	if moved {
		h.Changed(id)
	}
}
