package imapserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/store"
)

// maxParse is the largest message FETCH reads into memory to find its
// MIME structure (ENVELOPE, BODYSTRUCTURE, sections other than BODY[]).
// Larger messages are described from their top-level header alone.
// BODY[] and RFC822 are streamed from the store whatever the size.
const maxParse = 32 << 20

// maxHeader bounds the header read for BODY[HEADER] of messages too large
// to parse.
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
		switch it.Name {
		case "BINARY", "BINARY.SIZE":
			return ss.bad(cmd.Tag, it.Name+" is not supported")
		case "MODSEQ":
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
	msgs, err := ss.loadMessages(ctx, uids)
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	if args.HasChangedSince {
		// RFC 7162 §3.1.4.1: only messages changed since.
		msgs = slices.DeleteFunc(msgs, func(m store.Message) bool { return m.ModSeq <= args.ChangedSince })
	}
	seen := map[uint32]bool{}
	if !ss.sel.readOnly && setsSeen(args.Items) {
		if seen, err = ss.markSeen(ctx, msgs); err != nil {
			return ss.storeError(cmd.Tag, err)
		}
	}
	for _, m := range msgs {
		if err := ss.fetchOne(ctx, cmd, args, m, seen[m.UID]); err != nil {
			ss.srv.log.Warn("fetch", "session", ss.id, "uid", m.UID, "err", err)
			ss.w.Status("*", "BYE", imap.CodeServerBug, "cannot send a message")
			return false
		}
	}
	ss.syncEnd(cmd, cmd.UID)
	return ss.ok(cmd.Tag, "FETCH completed")
}

// setsSeen reports whether the items include a body fetch that sets \Seen.
func setsSeen(items []imap.FetchItem) bool {
	for _, it := range items {
		if (it.Name == "BODY" && it.Section != nil && !it.Peek) || it.Name == "RFC822" || it.Name == "RFC822.TEXT" {
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
func (ss *session) fetchOne(ctx context.Context, cmd *imap.Command, args *imap.FetchArgs, m store.Message, seenChanged bool) error {
	items := args.Items
	w := ss.w
	seq := ss.sel.seq(m.UID)
	if seq == 0 {
		return nil
	}
	var parsed *part
	var raw []byte
	parse := func() (*part, []byte, error) {
		if parsed == nil {
			var err error
			if raw, parsed, err = ss.parseMessage(ctx, m); err != nil {
				return nil, nil, err
			}
		}
		return parsed, raw, nil
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
			// Computed at once, so (LAZY) changes nothing (RFC 8970 §3).
			p, raw, err := parse()
			if err != nil {
				return err
			}
			w.Atom("PREVIEW ")
			w.String(preview(p, raw))
		case "ENVELOPE", "BODYSTRUCTURE", "BODY", "RFC822.HEADER", "RFC822.TEXT", "RFC822":
			if it.Name == "RFC822" || (it.Name == "BODY" && it.Section != nil && it.Section.Specifier == "" && len(it.Section.Part) == 0) {
				if err := ss.fetchWhole(ctx, it, m); err != nil {
					return err
				}
				continue
			}
			p, raw, err := parse()
			if err != nil {
				return err
			}
			switch it.Name {
			case "ENVELOPE":
				w.Atom("ENVELOPE ")
				writeEnvelope(w, p.header)
			case "BODYSTRUCTURE":
				w.Atom("BODYSTRUCTURE ")
				writeBodyStructure(w, p, raw, true)
			case "RFC822.HEADER":
				w.Atom("RFC822.HEADER ")
				writeBytes(w, raw[p.start:p.bodyStart])
			case "RFC822.TEXT":
				w.Atom("RFC822.TEXT ")
				writeBytes(w, raw[p.bodyStart:p.end])
			case "BODY":
				if it.Section == nil {
					w.Atom("BODY ")
					writeBodyStructure(w, p, raw, false)
					continue
				}
				data, ok := sectionData(p, raw, it.Section)
				w.Atom("BODY[" + sectionString(it.Section) + "]")
				data = partial(data, it.Partial, w)
				w.SP()
				if !ok {
					w.NIL()
				} else {
					writeBytes(w, data)
				}
			}
		}
	}
	if !hasModSeq && (args.HasChangedSince || (ss.condstore && (hasFlags || seenChanged))) {
		sep()
		w.Atom("MODSEQ (").Number(m.ModSeq).Close()
	}
	w.Close()
	return w.End()
}

// fetchWhole streams BODY[] (or RFC822) from the store, cut to the
// partial range if one was asked.
func (ss *session) fetchWhole(ctx context.Context, it imap.FetchItem, m store.Message) error {
	w := ss.w
	if it.Name == "RFC822" {
		w.Atom("RFC822")
	} else {
		w.Atom("BODY[]")
	}
	off, n := int64(0), m.Size
	if it.Partial != nil {
		w.Atom("<" + strconv.FormatUint(uint64(it.Partial.Offset), 10) + ">")
		off = min(int64(it.Partial.Offset), m.Size)
		n = min(int64(it.Partial.Count), m.Size-off)
	}
	w.SP()
	body, err := ss.srv.store.OpenBody(ctx, m.BlobID)
	if err != nil {
		return fmt.Errorf("opening the body: %w", err)
	}
	defer body.Close()
	if off > 0 {
		if _, err := io.CopyN(io.Discard, body, off); err != nil {
			return fmt.Errorf("skipping to the offset: %w", err)
		}
	}
	w.Literal(n, io.LimitReader(body, n), false)
	return w.Err()
}

// partial cuts data to the <offset.count> range and writes the origin.
func partial(data []byte, p *imap.Partial, w *imap.Writer) []byte {
	if p == nil {
		return data
	}
	w.Atom("<" + strconv.FormatUint(uint64(p.Offset), 10) + ">")
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

// parseMessage reads a message (up to maxParse bytes) and parses its MIME
// structure. Larger messages get a structure from the header alone.
func (ss *session) parseMessage(ctx context.Context, m store.Message) ([]byte, *part, error) {
	body, err := ss.srv.store.OpenBody(ctx, m.BlobID)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the body: %w", err)
	}
	defer body.Close()
	if m.Size > maxParse {
		hdr, err := readHeader(bufio.NewReader(body))
		if err != nil {
			return nil, nil, err
		}
		p := parsePart(hdr, 0, len(hdr), 0, "text/plain")
		p.end, p.oversize = len(hdr), m.Size-int64(len(hdr))
		return hdr, p, nil
	}
	raw, err := io.ReadAll(io.LimitReader(body, maxParse+1))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the body: %w", err)
	}
	return raw, parsePart(raw, 0, len(raw), 0, "text/plain"), nil
}

// readHeader reads a header up to its blank line, at most maxHeader bytes.
func readHeader(br *bufio.Reader) ([]byte, error) {
	var hdr []byte
	for len(hdr) < maxHeader {
		line, err := br.ReadSlice('\n')
		hdr = append(hdr, line...)
		if errors.Is(err, io.EOF) || string(line) == "\r\n" || string(line) == "\n" {
			return hdr, nil
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("reading the header: %w", err)
		}
	}
	return hdr, nil
}
