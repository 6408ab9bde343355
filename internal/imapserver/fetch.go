package imapserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/mimeinfo"
	"sealpost.dev/sealpost/internal/store"
)

// fetchBatch is how many messages FETCH loads, with their summaries, at a
// time: memory stays bounded whatever the size of the mailbox, and the
// responses go out as each batch is ready.
const fetchBatch = 256

// maxHeader bounds the header read for BODY[HEADER.FIELDS ...].
const maxHeader = 1 << 20

func itoa(n int) string { return strconv.Itoa(n) }

// emailID is a message's RFC 8474 EMAILID: its store id, which copies do
// not share but which never changes or gets reused.
func emailID(m store.Message) string { return "M" + strconv.FormatInt(m.ID, 10) }

// mailboxID is a mailbox's RFC 8474 MAILBOXID.
func mailboxID(mb store.Mailbox) string { return "F" + strconv.FormatInt(mb.ID, 10) }

// fetch answers FETCH and UID FETCH (RFC 9051 §6.4.5).
func (ss *session) fetch(cmd *imap.Command) bool {
	args := cmd.Args.(*imap.FetchArgs)
	if args.Vanished && !ss.qresync {
		return ss.bad(cmd.Tag, "VANISHED needs ENABLE QRESYNC first")
	}
	for _, it := range args.Items {
		if it.Name == "MODSEQ" {
			ss.enableCondStore() // RFC 7162 §3.1
		}
	}
	if args.HasChangedSince {
		ss.enableCondStore()
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	if args.Vanished {
		if err := ss.vanishedSince(ctx, args.Set, args.ChangedSince); err != nil {
			return ss.storeError(cmd.Tag, err)
		}
	}
	uids := ss.sel.resolve(args.Set, cmd.UID)
	needSummary := summaryNeeded(args.Items)
	// Summaries come from the server's cache; once a batch finds most of
	// them missing, the next batches read them with the messages.
	readSummaries := false
	var cur store.Mailbox
	for len(uids) > 0 {
		batch := uids[:min(fetchBatch, len(uids))]
		uids = uids[len(batch):]
		msgs, stored, err := ss.loadBatch(ctx, batch, needSummary && readSummaries, &cur)
		if err != nil {
			return ss.storeError(cmd.Tag, err)
		}
		if args.HasChangedSince {
			// RFC 7162 §3.1.4.1: only messages changed since.
			msgs = slices.DeleteFunc(msgs, func(m store.Message) bool { return m.ModSeq <= args.ChangedSince })
		}
		var sums map[string]*fetchSummary
		if needSummary {
			var misses int
			if sums, misses, err = ss.summaries(ctx, msgs, stored); err != nil {
				return ss.storeError(cmd.Tag, err)
			}
			readSummaries = 2*misses > len(msgs)
			// Refused before anything of the batch is sent or marked seen.
			for _, m := range msgs {
				if sum := sums[m.BlobID]; sum != nil && checkBinary(args.Items, sum) != nil {
					return ss.no(cmd.Tag, imap.CodeUnknownCTE, "cannot decode the part's transfer encoding")
				}
			}
		}
		seen := map[uint32]bool{}
		if !ss.sel.readOnly && setsSeen(args.Items) {
			if seen, err = ss.markSeen(ctx, msgs); err != nil {
				return ss.storeError(cmd.Tag, err)
			}
		}
		for _, m := range msgs {
			if needSummary && sums[m.BlobID] == nil {
				continue
			}
			if err := ss.fetchOne(ctx, cmd, args, m, sums[m.BlobID], seen[m.UID]); err != nil {
				ss.srv.log.Warn("fetch", "session", ss.id, "uid", m.UID, "err", err)
				ss.w.Status("*", "BYE", imap.CodeServerBug, "cannot send a message")
				return false
			}
		}
	}
	ss.syncEnd(cmd, cmd.UID)
	return ss.ok(cmd.Tag, "FETCH completed")
}

// summaryNeeded reports whether any item needs the message's summary.
func summaryNeeded(items []imap.FetchItem) bool {
	for _, it := range items {
		switch it.Name {
		case "ENVELOPE", "BODYSTRUCTURE", "PREVIEW", "RFC822.HEADER", "RFC822.TEXT", "BINARY", "BINARY.SIZE":
			return true
		case "BODY":
			if it.Section == nil || len(it.Section.Part) > 0 || it.Section.Specifier != "" {
				return true
			}
		}
	}
	return false
}

// loadBatch returns the store's messages for uids (ascending, from the
// view), leaving out those no longer in the store, and with withSummaries
// their stored summaries by blob ID if it read them. The message cache
// serves them when it can; otherwise UIDs close together are read with
// one query and scattered ones one by one, so that a batch never reads
// much more than its size. cur is as for cachedMessages.
func (ss *session) loadBatch(ctx context.Context, uids []uint32, withSummaries bool, cur *store.Mailbox) ([]store.Message, map[string][]byte, error) {
	if out, ok, err := ss.cachedMessages(ctx, uids, cur); ok || err != nil {
		return out, nil, err
	}
	id := ss.sel.mb.ID
	first := ss.sel.uids.seq(uids[0])
	last := ss.sel.uids.seq(uids[len(uids)-1])
	span := int(last) - int(first) + 1
	if span > 2*len(uids)+16 {
		out, err := ss.getMessages(ctx, uids)
		return out, nil, err
	}
	out := make([]store.Message, 0, len(uids))
	// The store has no UIDs in the range that the view lacks: newer
	// messages have greater UIDs.
	var all []store.Summarized
	if withSummaries {
		var err error
		if all, err = ss.srv.store.ListSummarized(ctx, id, uids[0], span); err != nil {
			return nil, nil, err
		}
	} else {
		ms, err := ss.srv.store.ListMessages(ctx, id, uids[0], span)
		if err != nil {
			return nil, nil, err
		}
		all = make([]store.Summarized, len(ms))
		for i, m := range ms {
			all[i].Message = m
		}
	}
	var raw map[string][]byte
	if withSummaries {
		raw = make(map[string][]byte, len(all))
	}
	i := 0
	for _, m := range all {
		for i < len(uids) && uids[i] < m.UID {
			i++
		}
		if i < len(uids) && uids[i] == m.UID {
			out = append(out, m.Message)
			if m.Summary != nil {
				raw[m.BlobID] = m.Summary
			}
		}
	}
	return out, raw, nil
}

// summaries returns the summaries of msgs by blob ID and how many were
// not in the server's cache. Those are decoded from stored (read here if
// nil); a body without a summary, or with one of another version, is
// summarised now and the summary stored for next time. A message whose
// body is gone (expunged meanwhile) maps to nil.
func (ss *session) summaries(ctx context.Context, msgs []store.Message, stored map[string][]byte) (map[string]*fetchSummary, int, error) {
	out := make(map[string]*fetchSummary, len(msgs))
	var missing []string
	for _, m := range msgs {
		if _, ok := out[m.BlobID]; ok {
			continue
		}
		out[m.BlobID] = ss.srv.summaries.get(m.BlobID)
		if out[m.BlobID] == nil {
			missing = append(missing, m.BlobID)
		}
	}
	if len(missing) == 0 {
		return out, 0, nil
	}
	if stored == nil {
		var err error
		if stored, err = ss.srv.store.Summaries(ctx, missing); err != nil {
			return nil, 0, err
		}
	}
	fresh := map[string][]byte{}
	for _, id := range missing {
		raw := stored[id]
		sum, err := mimeinfo.Decode(raw)
		if err != nil {
			sum, err = ss.summarize(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, 0, err
			}
			raw = sum.Encode()
			fresh[id] = raw
		}
		fs := newFetchSummary(sum)
		out[id] = fs
		ss.srv.summaries.put(id, fs, len(raw))
	}
	if err := ss.srv.store.PutSummaries(ctx, fresh); err != nil {
		// The summaries are computed again next time: not worth failing
		// the FETCH for.
		ss.srv.log.Warn("storing summaries", "session", ss.id, "err", err)
	}
	return out, len(missing), nil
}

// summarize reads a body through the parser.
func (ss *session) summarize(ctx context.Context, blobID string) (*mimeinfo.Summary, error) {
	body, err := ss.srv.store.OpenBody(ctx, blobID)
	if err != nil {
		return nil, fmt.Errorf("opening the body: %w", err)
	}
	defer body.Close()
	sum, err := mimeinfo.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	return sum, nil
}

// setsSeen reports whether the items include a body fetch that sets \Seen.
func setsSeen(items []imap.FetchItem) bool {
	for _, it := range items {
		if ((it.Name == "BODY" && it.Section != nil) || it.Name == "BINARY") && !it.Peek || it.Name == "RFC822" || it.Name == "RFC822.TEXT" {
			return true
		}
	}
	return false
}

// markSeen adds \Seen to msgs (in place) and returns the UIDs it changed.
func (ss *session) markSeen(ctx context.Context, msgs []store.Message) (map[uint32]bool, error) {
	var uids []uint32
	for _, m := range msgs {
		if !slices.Contains(m.Flags, `\Seen`) {
			uids = append(uids, m.UID)
		}
	}
	changed := map[uint32]bool{}
	if len(uids) == 0 {
		return changed, nil
	}
	res, err := ss.srv.store.UpdateFlags(ctx, store.FlagUpdate{MailboxID: ss.sel.mb.ID, UIDs: uids, Op: store.FlagsAdd, Flags: []string{`\Seen`}})
	if err != nil {
		return nil, err
	}
	ss.changed(ss.sel.mb.ID)
	byUID := map[uint32]store.Message{}
	for _, u := range res.Updated {
		byUID[u.UID] = u
		ss.sel.report(u.UID, u.ModSeq)
	}
	for i, m := range msgs {
		if u, ok := byUID[m.UID]; ok {
			msgs[i].Flags, msgs[i].ModSeq = u.Flags, u.ModSeq
			changed[m.UID] = true
		}
	}
	return changed, nil
}

// fetchOne writes one FETCH response. An error means the response is
// broken mid-way and the connection must be closed.
//
// Once CONDSTORE is enabled, a response carrying flags also carries MODSEQ,
// and one whose \Seen this FETCH set also carries UID (RFC 7162 §3.1);
// CHANGEDSINCE implies MODSEQ (§3.1.4.1).
func (ss *session) fetchOne(ctx context.Context, cmd *imap.Command, args *imap.FetchArgs, m store.Message, sum *fetchSummary, seenChanged bool) error {
	items := args.Items
	w := ss.w
	seq := ss.sel.seq(m.UID)
	if seq == 0 {
		return nil
	}
	w.Untagged().Number(uint64(seq)).Atom(" FETCH (")
	first := true
	sep := func() {
		if !first {
			w.SP()
		}
		first = false
	}
	hasUID, hasFlags, hasModSeq := false, false, false
	for _, it := range items {
		hasUID = hasUID || it.Name == "UID"
		hasFlags = hasFlags || it.Name == "FLAGS"
		hasModSeq = hasModSeq || it.Name == "MODSEQ"
	}
	if (cmd.UID || (ss.condstore && seenChanged)) && !hasUID {
		sep()
		w.Atom("UID ").Number(uint64(m.UID))
	}
	if seenChanged && !hasFlags {
		sep()
		w.Atom("FLAGS ").Flags(ss.flags(m))
	}
	for _, it := range items {
		sep()
		if err := ss.fetchItem(ctx, it, m, sum); err != nil {
			return err
		}
	}
	if !hasModSeq && (args.HasChangedSince || (ss.condstore && (hasFlags || seenChanged))) {
		sep()
		w.Atom("MODSEQ (").Number(m.ModSeq).Close()
	}
	w.Close()
	return w.End()
}

// fetchItem writes one item of a FETCH response.
func (ss *session) fetchItem(ctx context.Context, it imap.FetchItem, m store.Message, sum *fetchSummary) error {
	w := ss.w
	switch it.Name {
	case "UID":
		w.Atom("UID ").Number(uint64(m.UID))
	case "FLAGS":
		w.Atom("FLAGS ").Flags(ss.flags(m))
	case "INTERNALDATE":
		w.Atom("INTERNALDATE ").DateTime(m.InternalDate)
	case "RFC822.SIZE":
		w.Atom("RFC822.SIZE ").Number(uint64(m.Size))
	case "MODSEQ":
		w.Atom("MODSEQ (").Number(m.ModSeq).Close()
	case "EMAILID":
		w.Atom("EMAILID (" + emailID(m) + ")")
	case "THREADID":
		w.Atom("THREADID NIL") // RFC 8474 §5.2: threads are not tracked
	case "SAVEDATE":
		w.Atom("SAVEDATE ")
		if m.SaveDate.IsZero() {
			w.NIL()
		} else {
			w.DateTime(m.SaveDate)
		}
	case "PREVIEW":
		// Computed when the message was stored, so (LAZY) changes nothing
		// (RFC 8970 §3).
		w.Atom("PREVIEW ").String(sum.Preview)
	case "ENVELOPE":
		w.Atom("ENVELOPE ")
		if w.UTF8 {
			writeEnvelope(w, sum.Root.Envelope)
		} else {
			w.Atom(sum.envelope)
		}
	case "BODYSTRUCTURE":
		w.Atom("BODYSTRUCTURE ")
		if w.UTF8 {
			writeBodyStructure(w, sum.Root, true)
		} else {
			w.Atom(sum.bodyStructure)
		}
	case "RFC822":
		w.Atom("RFC822")
		return ss.writeRange(ctx, m, 0, m.Size, nil)
	case "RFC822.HEADER":
		w.Atom("RFC822.HEADER")
		return ss.writeRange(ctx, m, 0, sum.Root.BodyStart, nil)
	case "RFC822.TEXT":
		w.Atom("RFC822.TEXT")
		return ss.writeRange(ctx, m, sum.Root.BodyStart, m.Size, nil)
	case "BODY":
		if it.Section == nil {
			w.Atom("BODY ")
			writeBodyStructure(w, sum.Root, false)
			return nil
		}
		return ss.fetchSection(ctx, it, m, sum.summary())
	case "BINARY", "BINARY.SIZE":
		return ss.fetchBinary(ctx, it, m, sum.summary())
	}
	return w.Err()
}

// fetchSection writes BODY[section]<partial>, reading only the section's
// bytes from the store.
func (ss *session) fetchSection(ctx context.Context, it imap.FetchItem, m store.Message, sum *mimeinfo.Summary) error {
	w := ss.w
	s := it.Section
	w.Atom("BODY[" + sectionString(s) + "]")
	if len(s.Part) == 0 && s.Specifier == "" {
		// BODY[] needs no summary: the whole message.
		return ss.writeRange(ctx, m, 0, m.Size, it.Partial)
	}
	p := sum.Find(s.Part)
	if p == nil {
		writeOrigin(w, it.Partial)
		w.SP().NIL()
		return w.Err()
	}
	msg := p // HEADER and TEXT of a message/rfc822 part are its message's
	if len(s.Part) > 0 && p.Message != nil && s.Specifier != "MIME" && s.Specifier != "" {
		msg = p.Message
	}
	switch s.Specifier {
	case "":
		if isBinaryCTE(p) {
			return ss.writeBase64(ctx, m, p, it.Partial)
		}
		return ss.writeRange(ctx, m, p.BodyStart, max(p.BodyStart, p.End), it.Partial)
	case "MIME":
		return ss.writeRange(ctx, m, p.Start, p.BodyStart, it.Partial)
	case "HEADER":
		return ss.writeRange(ctx, m, msg.Start, msg.BodyStart, it.Partial)
	case "TEXT":
		return ss.writeRange(ctx, m, msg.BodyStart, max(msg.BodyStart, msg.End), it.Partial)
	}
	hdr, err := ss.readRange(ctx, m, msg.Start, min(msg.BodyStart, msg.Start+maxHeader))
	if err != nil {
		return err
	}
	data := filterHeader(hdr, s.Fields, s.Specifier == "HEADER.FIELDS.NOT")
	writeBytes(w, cut(data, it.Partial, w))
	return w.Err()
}

// isBinaryCTE reports whether a leaf part is declared binary: BODY sends
// it in base64, as a literal must not carry NUL.
func isBinaryCTE(p *mimeinfo.Part) bool {
	return !p.Multipart() && p.Message == nil && strings.EqualFold(strings.TrimSpace(p.Encoding), "binary")
}

// writeBase64 writes a binary part's body in base64, in lines of 76.
func (ss *session) writeBase64(ctx context.Context, m store.Message, p *mimeinfo.Part, pa *imap.Partial) error {
	raw, err := ss.readRange(ctx, m, p.BodyStart, max(p.BodyStart, p.End))
	if err != nil {
		return err
	}
	enc := base64Lines(raw)
	writeBytes(ss.w, cut(enc, pa, ss.w))
	return ss.w.Err()
}

// writeRange streams bytes [start, end) of the message as a literal, cut
// to the partial range if one was asked (writing its origin first).
func (ss *session) writeRange(ctx context.Context, m store.Message, start, end int64, pa *imap.Partial) error {
	w := ss.w
	start, end = min(max(start, 0), m.Size), min(max(end, start), m.Size)
	if pa != nil {
		writeOrigin(w, pa)
		start = min(start+int64(pa.Offset), end)
		end = min(start+int64(pa.Count), end)
	}
	w.SP()
	r, err := ss.openRange(ctx, m, start, end)
	if err != nil {
		return err
	}
	defer r.Close()
	w.Literal(end-start, r, false)
	return w.Err()
}

// readRange reads bytes [start, end) of the message into memory; callers
// bound the range.
func (ss *session) readRange(ctx context.Context, m store.Message, start, end int64) ([]byte, error) {
	start, end = min(max(start, 0), m.Size), min(max(end, start), m.Size)
	r, err := ss.openRange(ctx, m, start, end)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	return b, nil
}

// openRange opens the message's body at start, limited to end.
func (ss *session) openRange(ctx context.Context, m store.Message, start, end int64) (io.ReadCloser, error) {
	body, err := ss.srv.store.OpenBody(ctx, m.BlobID)
	if err != nil {
		return nil, fmt.Errorf("opening the body: %w", err)
	}
	if start > 0 {
		if sk, ok := body.(io.Seeker); ok {
			_, err = sk.Seek(start, io.SeekStart)
		} else {
			_, err = io.CopyN(io.Discard, body, start)
		}
		if err != nil {
			body.Close()
			return nil, fmt.Errorf("skipping to the section: %w", err)
		}
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(body, end-start), body}, nil
}

// writeOrigin writes the <origin> of a partial fetch.
func writeOrigin(w *imap.Writer, p *imap.Partial) {
	if p != nil {
		w.Atom("<" + strconv.FormatUint(uint64(p.Offset), 10) + ">")
	}
}

// cut cuts data to the <offset.count> range and writes the origin.
func cut(data []byte, p *imap.Partial, w *imap.Writer) []byte {
	writeOrigin(w, p)
	w.SP()
	if p == nil {
		return data
	}
	off := min(int(p.Offset), len(data))
	n := min(int(p.Count), len(data)-off)
	return data[off : off+n]
}

func writeBytes(w *imap.Writer, b []byte) {
	w.Literal(int64(len(b)), bytes.NewReader(b), false)
}

func sectionString(s *imap.Section) string {
	var b strings.Builder
	for i, p := range s.Part {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatUint(uint64(p), 10))
	}
	if s.Specifier != "" {
		if len(s.Part) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.Specifier)
	}
	if strings.HasPrefix(s.Specifier, "HEADER.FIELDS") {
		b.WriteString(" (")
		for i, f := range s.Fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strings.ToUpper(f))
		}
		b.WriteByte(')')
	}
	return b.String()
}
