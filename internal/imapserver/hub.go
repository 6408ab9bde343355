package imapserver

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// Hub tells sessions of this process that a mailbox changed. It carries no
// change itself: the store is the truth by MODSEQ, and every session pulls
// what happened since its own MODSEQ when rung.
//
// Every store writer of the process calls Changed after a commit that
// touches a mailbox: the IMAP sessions, SMTP delivery and POP3. For
// writers in other processes (PostgreSQL shared by several), the hub also
// polls: while sessions watch, one goroutine reads the HIGHESTMODSEQ of
// each watched mailbox every poll interval and rings its watchers when it
// moved. Idle sessions thus sleep until something changed, however many
// watch one mailbox, instead of each reading the store on a timer.
type Hub struct {
	mu      sync.Mutex
	watches map[int64]*mailboxWatch
	polling bool
}

// mailboxWatch is the watchers of one mailbox and the HIGHESTMODSEQ the
// poller last saw (seen is false until it has looked once).
type mailboxWatch struct {
	watchers map[*watcher]struct{}
	modseq   uint64
	seen     bool
}

// watcher is one doorbell: a function that must not block.
type watcher struct{ ring func() }

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{watches: map[int64]*mailboxWatch{}} }

// Changed rings every watcher of mailboxID. It never blocks.
func (h *Hub) Changed(mailboxID int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if mw := h.watches[mailboxID]; mw != nil {
		for w := range mw.watchers {
			w.ring()
		}
	}
}

// watch has ring called after every change to mailboxID, until the
// returned function is called. Calling a function rather than sending on
// a channel spares every watching session a goroutine to receive. The
// first watch starts the poller, which reads st every interval and ends
// when nobody watches.
func (h *Hub) watch(mailboxID int64, ring func(), st store.Store, interval time.Duration, log *slog.Logger) (unwatch func()) {
	w := &watcher{ring: ring}
	h.mu.Lock()
	mw := h.watches[mailboxID]
	if mw == nil {
		mw = &mailboxWatch{watchers: map[*watcher]struct{}{}}
		h.watches[mailboxID] = mw
	}
	mw.watchers[w] = struct{}{}
	if !h.polling {
		h.polling = true
		go h.poll(st, interval, log)
	}
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(mw.watchers, w)
		if len(mw.watchers) == 0 && h.watches[mailboxID] == mw {
			delete(h.watches, mailboxID)
		}
		h.mu.Unlock()
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
		if len(h.watches) == 0 {
			h.polling = false
			h.mu.Unlock()
			return
		}
		ids := make([]int64, 0, len(h.watches))
		for id := range h.watches {
			ids = append(ids, id)
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
	mw := h.watches[id]
	moved := mw != nil && (err != nil || !mw.seen || mb.HighestModSeq != mw.modseq)
	if moved {
		mw.modseq, mw.seen = mb.HighestModSeq, true
	}
	h.mu.Unlock()
	if moved {
		h.Changed(id)
	}
}
