package textindex

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"slices"
	"strings"

	"sealpost.dev/sealpost/internal/mailtext"
	"sealpost.dev/sealpost/internal/store"
)

// Query is one text search key.
type Query struct {
	Field store.TextField
	// Name, with Field TextHeader, is the header field to look in (IMAP
	// HEADER); "" looks in every field.
	Name string
	// Needle is the string to find, in UTF-8, as the client gave it.
	Needle string
}

// maxWant bounds the messages one search hands to the indexer.
const maxWant = 1000

// maxHeaderRead bounds what is read of a message to check a header field.
const maxHeaderRead = 256 << 10

// namedFields are the header fields the index keeps apart.
var namedFields = map[string]store.TextField{
	"subject": store.TextSubject, "from": store.TextFrom, "to": store.TextTo, "cc": store.TextCc, "bcc": store.TextBcc,
}

// Search returns, for each query, the UIDs of the messages of a mailbox
// that match it. ix, if not nil, is asked to index the messages that had
// no text yet.
func Search(ctx context.Context, st store.Store, ix *Indexer, mailboxID int64, qs []Query) ([]map[uint32]bool, error) {
	out := make([]map[uint32]bool, len(qs))
	unindexed := map[uint32]store.Message{}
	for i, q := range qs {
		q = plan(q)
		needle := mailtext.Fold(q.Needle)
		if q.Name != "" && needle == "" {
			// Any message with the field: its line starts so.
			needle = mailtext.Fold(q.Name) + ": "
		}
		hits, err := st.SearchText(ctx, mailboxID, q.Field, needle)
		if err != nil {
			return nil, err
		}
		set := make(map[uint32]bool, len(hits.UIDs))
		for _, uid := range hits.UIDs {
			ok := true
			if q.Name != "" {
				// The index found the string in the header; is it in
				// the named field?
				if ok, err = headerMatch(ctx, st, mailboxID, uid, q); err != nil {
					return nil, err
				}
			}
			if ok {
				set[uid] = true
			}
		}
		out[i] = set
		for _, m := range hits.Unindexed {
			unindexed[m.UID] = m
		}
	}
	return out, scan(ctx, st, ix, unindexed, qs, out)
}

// plan maps HEADER of a field the index keeps apart to that field.
func plan(q Query) Query {
	if q.Field == store.TextHeader && q.Name != "" {
		if f, ok := namedFields[strings.ToLower(q.Name)]; ok {
			return Query{Field: f, Needle: q.Needle}
		}
	}
	return q
}

// scan reads the messages without text and adds those that match to out.
func scan(ctx context.Context, st store.Store, ix *Indexer, unindexed map[uint32]store.Message, qs []Query, out []map[uint32]bool) error {
	if len(unindexed) == 0 {
		return nil
	}
	ms := make([]store.Message, 0, len(unindexed))
	for _, m := range unindexed {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b store.Message) int { return cmp.Compare(a.ID, b.ID) })
	if ix != nil {
		ix.Want(ms[:min(len(ms), maxWant)])
	}
	for _, m := range ms {
		t, err := extract(ctx, st, m)
		if errors.Is(err, store.ErrNotFound) {
			continue // expunged meanwhile
		}
		if err != nil {
			return err
		}
		for i, q := range qs {
			if matches(t, plan(q)) {
				out[i][m.UID] = true
			}
		}
	}
	return nil
}

// matches evaluates a query on a message's folded text, as the index
// would.
func matches(t mailtext.Text, q Query) bool {
	needle := mailtext.Fold(q.Needle)
	switch q.Field {
	case store.TextAll:
		return strings.Contains(t.Header, needle) || strings.Contains(t.Body, needle)
	case store.TextBody:
		return strings.Contains(t.Body, needle)
	case store.TextHeader:
		if q.Name == "" {
			return strings.Contains(t.Header, needle)
		}
		return slices.ContainsFunc(t.Values(q.Name), func(v string) bool { return strings.Contains(v, needle) })
	case store.TextSubject:
		return strings.Contains(t.Subject, needle)
	case store.TextFrom:
		return strings.Contains(t.From, needle)
	case store.TextTo:
		return strings.Contains(t.To, needle)
	case store.TextCc:
		return strings.Contains(t.Cc, needle)
	case store.TextBcc:
		return strings.Contains(t.Bcc, needle)
	}
	return false
}

// headerMatch reads a message's header and checks a HEADER query on it.
// A message gone meanwhile does not match.
func headerMatch(ctx context.Context, st store.Store, mailboxID int64, uid uint32, q Query) (bool, error) {
	m, err := st.GetMessage(ctx, mailboxID, uid)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	body, err := st.OpenBody(ctx, m.BlobID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer body.Close()
	hdr, err := readHeader(bufio.NewReader(body))
	if err != nil {
		return false, err
	}
	return matches(mailtext.ExtractBytes(hdr).Fold(), q), nil
}

// readHeader reads up to the blank line that ends a header, at most
// maxHeaderRead bytes.
func readHeader(r *bufio.Reader) ([]byte, error) {
	var hdr []byte
	for len(hdr) < maxHeaderRead {
		line, err := r.ReadSlice('\n')
		hdr = append(hdr, line...)
		if len(bytes.TrimRight(line, "\r\n")) == 0 && len(line) > 0 && line[len(line)-1] == '\n' {
			break
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
	}
	return hdr, nil
}
