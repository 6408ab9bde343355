package imapserver

import (
	"bytes"
	"sync"

	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/mimeinfo"
)

// fetchSummary is a message's summary with its ENVELOPE and BODYSTRUCTURE
// as sent to clients that have not enabled UTF-8 (most), rendered once.
type fetchSummary struct {
	*mimeinfo.Summary
	envelope, bodyStructure string
}

// summary returns the summary, nil for none (BODY[] needs none).
func (f *fetchSummary) summary() *mimeinfo.Summary {
	if f == nil {
		return nil
	}
	return f.Summary
}

// renderer is a Writer into memory, for rendering.
type renderer struct {
	buf bytes.Buffer
	w   *imap.Writer
}

var renderers = sync.Pool{New: func() any {
	r := &renderer{}
	r.w = imap.NewWriter(&r.buf)
	return r
}}

// newFetchSummary renders a summary's ENVELOPE and BODYSTRUCTURE.
func newFetchSummary(sum *mimeinfo.Summary) *fetchSummary {
	r := renderers.Get().(*renderer)
	defer renderers.Put(r)
	render := func(f func(w *imap.Writer)) string {
		r.buf.Reset()
		r.w.Reset(&r.buf)
		f(r.w)
		r.w.Flush()
		return r.buf.String()
	}
	return &fetchSummary{
		Summary:       sum,
		envelope:      render(func(w *imap.Writer) { writeEnvelope(w, sum.Root.Envelope) }),
		bodyStructure: render(func(w *imap.Writer) { writeBodyStructure(w, sum.Root, true) }),
	}
}

// summaryCacheBytes bounds the summaries a server keeps decoded, by an
// estimate of their size: about 6,000 messages of a few parts.
const summaryCacheBytes = 16 << 20

// summaryCache keeps decoded summaries by blob ID for a server's
// sessions, so that a mailbox fetched again (as clients do at every
// synchronisation) needs neither the summaries read nor decoded. A blob's
// summary never changes in meaning (a new version describes the same
// body) and blob IDs are never reused, so entries are never stale; those
// of removed bodies wait for eviction. When full, arbitrary entries make
// room: cheaper than keeping an order, and no worse for a mailbox larger
// than the cache, read in order.
type summaryCache struct {
	mu   sync.Mutex
	m    map[string]cachedSummary
	size int64
	max  int64
}

type cachedSummary struct {
	sum  *fetchSummary
	size int64
}

func newSummaryCache(max int64) *summaryCache {
	return &summaryCache{m: map[string]cachedSummary{}, max: max}
}

// get returns the summary of a blob, or nil.
func (c *summaryCache) get(blobID string) *fetchSummary {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[blobID].sum
}

// put keeps the summary of a blob whose encoding takes encoded bytes.
func (c *summaryCache) put(blobID string, sum *fetchSummary, encoded int) {
	// Decoded, a summary takes about three times its encoding, plus the
	// structures, the rendered strings and the map entry.
	size := 3*int64(encoded) + int64(len(sum.envelope)+len(sum.bodyStructure)) + 512 + int64(len(blobID))
	if size > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[blobID]; ok {
		c.size -= old.size
	}
	for k, v := range c.m {
		if c.size+size <= c.max {
			break
		}
		delete(c.m, k)
		c.size -= v.size
	}
	c.m[blobID] = cachedSummary{sum, size}
	c.size += size
}
