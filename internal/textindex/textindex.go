// Package textindex keeps the store's text index (store.TextIndex) filled
// and answers text searches from it: IMAP SEARCH TEXT, BODY, SUBJECT,
// FROM, TO, CC, BCC and HEADER (RFC 9051 §6.4.4).
//
// The Indexer runs in the background, so that delivery never waits for
// text extraction: at start it catches up from the cursor the store
// keeps, and then it is poked after every change (the IMAP Hub's
// OnChange) and looks again every RecheckInterval for writers of other
// processes. It reads each new body once, extracts its text with package
// mailtext, folds it and stores it; copies of a message share their body
// and so their text. With nothing to index, it has the store compact the
// index after deletions (CompactText), one bounded step at a time.
//
// Search answers from the index and reads the few messages the index has
// no text for yet (delivered a moment ago), so its answer never depends
// on how far the indexer got. It asks the indexer to take those
// messages, which also covers a message whose ID the cursor passed before
// its transaction committed (PostgreSQL hands out IDs before commit).
//
// Matching is a substring test after mailtext.Fold on both sides (Unicode
// case folding and NFKC, close to i;unicode-casemap, RFC 5051). The
// stores use a trigram index (SQLite FTS5, PostgreSQL pg_trgm) for strings
// of three characters or more and read the mailbox's stored text for
// shorter ones.
package textindex

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"sealpost.dev/sealpost/internal/mailtext"
	"sealpost.dev/sealpost/internal/store"
)

// Bounds on the indexer's work.
const (
	batchMessages = 200     // messages taken from the backlog at once
	batchText     = 8 << 20 // bytes of text stored in one transaction
	// RecheckInterval is how often the indexer looks at the backlog
	// without being poked.
	RecheckInterval = time.Minute
	retryDelay      = 5 * time.Second
)

// Indexer fills the text index in the background. Create it with New
// and start it with Run; Poke and Want may be called before Run and from
// any goroutine.
type Indexer struct {
	store store.Store
	log   *slog.Logger
	poke  chan struct{}
	want  chan []store.Message
}

// New returns an indexer over st. A nil logger discards.
func New(st store.Store, log *slog.Logger) *Indexer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Indexer{store: st, log: log, poke: make(chan struct{}, 1), want: make(chan []store.Message, 1)}
}

// Poke tells the indexer there may be new messages. It never blocks.
func (ix *Indexer) Poke() {
	select {
	case ix.poke <- struct{}{}:
	default:
	}
}

// Want asks the indexer to index the bodies of ms, which a search found
// without text. It never blocks: if a request is pending, this one is
// dropped, and a later search asks again.
func (ix *Indexer) Want(ms []store.Message) {
	if len(ms) == 0 {
		return
	}
	select {
	case ix.want <- ms:
	default:
	}
}

// Run indexes until ctx is done.
func (ix *Indexer) Run(ctx context.Context) {
	for {
		if err := ix.catchUp(ctx); err != nil && ctx.Err() == nil {
			ix.log.Warn("text index: catching up", "err", err)
			if !sleep(ctx, retryDelay) {
				return
			}
			continue
		}
		ix.compact(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ix.poke:
		case ms := <-ix.want:
			if err := ix.index(ctx, ms, 0); err != nil && ctx.Err() == nil {
				ix.log.Warn("text index: indexing searched messages", "err", err)
			}
		case <-time.After(RecheckInterval):
		}
	}
}

// compact tidies the index step by step while there is nothing to
// index: new mail comes first, and compaction goes on after it.
func (ix *Indexer) compact(ctx context.Context) {
	for ctx.Err() == nil && len(ix.poke) == 0 && len(ix.want) == 0 {
		more, err := ix.store.CompactText(ctx)
		if err != nil {
			if ctx.Err() == nil {
				ix.log.Warn("text index: compacting", "err", err)
			}
			return
		}
		if !more {
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// catchUp indexes the backlog after the store's cursor until it is empty.
func (ix *Indexer) catchUp(ctx context.Context) error {
	for {
		cursor, err := ix.store.TextCursor(ctx)
		if err != nil {
			return err
		}
		ms, err := ix.store.TextBacklog(ctx, cursor, batchMessages)
		if err != nil || len(ms) == 0 {
			return err
		}
		last := cursor
		for _, m := range ms {
			last = max(last, m.ID)
		}
		if err := ix.index(ctx, ms, last); err != nil {
			return err
		}
	}
}

// index extracts and stores the text of the bodies of ms, in
// transactions of at most batchText bytes, moving the cursor to cursor
// with the last. A body that is gone gets empty text (the store drops it
// if its messages went); any other read error stops the batch before the
// cursor moves, to be tried again.
func (ix *Indexer) index(ctx context.Context, ms []store.Message, cursor int64) error {
	var docs []store.TextDoc
	size := 0
	for i, m := range ms {
		doc, err := ix.doc(ctx, m)
		if errors.Is(err, store.ErrNotFound) {
			doc, err = store.TextDoc{BlobID: m.BlobID}, nil
		}
		if err != nil {
			return fmt.Errorf("message %d: %w", m.ID, err)
		}
		docs = append(docs, doc)
		size += len(doc.Header) + len(doc.Body)
		if size >= batchText || i == len(ms)-1 {
			c := int64(0)
			if i == len(ms)-1 {
				c = cursor
			}
			if err := ix.store.IndexText(ctx, docs, c); err != nil {
				return err
			}
			docs, size = docs[:0], 0
		}
	}
	return nil
}

// doc reads a message's body and returns its folded text.
func (ix *Indexer) doc(ctx context.Context, m store.Message) (store.TextDoc, error) {
	t, err := extract(ctx, ix.store, m)
	if err != nil {
		return store.TextDoc{}, err
	}
	return store.TextDoc{BlobID: m.BlobID, Header: t.Header, Subject: t.Subject, From: t.From, To: t.To,
		Cc: t.Cc, Bcc: t.Bcc, Body: t.Body}, nil
}

// extract reads a message's body and returns its folded text.
func extract(ctx context.Context, st store.Store, m store.Message) (mailtext.Text, error) {
	body, err := st.OpenBody(ctx, m.BlobID)
	if err != nil {
		return mailtext.Text{}, err
	}
	defer body.Close()
	t, err := mailtext.Extract(body)
	if err != nil {
		return mailtext.Text{}, err
	}
	return t.Fold(), nil
}
