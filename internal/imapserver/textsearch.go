package imapserver

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/encoding/htmlindex"

	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/textindex"
)

// textFields are the search keys package textindex answers, with where
// they look (RFC 9051 §6.4.4). FROM, TO, CC and BCC are matched as
// address lists instead (addressMatches), and HEADER or SUBJECT with an
// empty string by the field's presence.
var textFields = map[string]store.TextField{
	"TEXT": store.TextAll, "BODY": store.TextBody, "HEADER": store.TextHeader, "SUBJECT": store.TextSubject,
}

// stringKeys are the search keys that carry a string in the search's
// charset.
var stringKeys = map[string]bool{
	"TEXT": true, "BODY": true, "HEADER": true, "SUBJECT": true, "FROM": true, "TO": true, "CC": true, "BCC": true,
}

// textHits holds, for each text key of a search, the UIDs that match it.
type textHits map[textindex.Query]map[uint32]bool

// has reports whether the message with uid matches text key k.
func (h textHits) has(k imap.SearchKey, uid uint32) bool {
	q, _ := textQuery(k)
	return h[q][uid]
}

func textQuery(k imap.SearchKey) (textindex.Query, bool) {
	f, ok := textFields[k.Op]
	if !ok || k.Value == "" {
		return textindex.Query{}, false
	}
	q := textindex.Query{Field: f, Needle: k.Value}
	if k.Op == "HEADER" {
		q.Name = k.Field
	}
	return q, true
}

// textMatches answers every text key among keys at once, from the text
// index and the messages it has no text for yet.
func (ss *session) textMatches(ctx context.Context, keys []imap.SearchKey) (textHits, error) {
	var qs []textindex.Query
	seen := map[textindex.Query]bool{}
	var walk func([]imap.SearchKey)
	walk = func(keys []imap.SearchKey) {
		for _, k := range keys {
			if q, ok := textQuery(k); ok && !seen[q] {
				seen[q] = true
				qs = append(qs, q)
			}
			walk(k.Keys)
		}
	}
	walk(keys)
	if len(qs) == 0 {
		return nil, nil
	}
	sets, err := textindex.Search(ctx, ss.srv.store, ss.srv.indexer, ss.sel.mb.ID, qs)
	if err != nil {
		return nil, err
	}
	hits := make(textHits, len(qs))
	for i, q := range qs {
		hits[q] = sets[i]
	}
	return hits, nil
}

// searchCharsetOK reports whether SEARCH takes strings in charset cs:
// UTF-8 and US-ASCII, and the charsets of the WHATWG Encoding Standard.
func searchCharsetOK(cs string) bool {
	if cs == "" || cs == "US-ASCII" || cs == "UTF-8" {
		return true
	}
	_, err := htmlindex.Get(cs)
	return err == nil
}

// decodeSearchStrings converts the strings of the text keys from charset
// cs to UTF-8, in place.
func decodeSearchStrings(keys []imap.SearchKey, cs string) error {
	if cs == "" || cs == "US-ASCII" || cs == "UTF-8" {
		return nil
	}
	enc, err := htmlindex.Get(cs)
	if err != nil {
		return err
	}
	for i := range keys {
		k := &keys[i]
		if stringKeys[k.Op] {
			s, err := enc.NewDecoder().String(k.Value)
			if err != nil {
				return fmt.Errorf("search string not in %s: %w", cs, err)
			}
			k.Value = strings.ToValidUTF8(s, "\uFFFD")
		}
		if err := decodeSearchStrings(k.Keys, cs); err != nil {
			return err
		}
	}
	return nil
}

// narrow returns the UIDs that match every text key at the top level of
// keys (which are ANDed), in ascending order: only those can match the
// search. It returns false if there is no such key.
func (h textHits) narrow(keys []imap.SearchKey) ([]uint32, bool) {
	var sets []map[uint32]bool
	for _, k := range keys {
		if q, ok := textQuery(k); ok {
			sets = append(sets, h[q])
		}
	}
	if len(sets) == 0 {
		return nil, false
	}
	slices.SortFunc(sets, func(a, b map[uint32]bool) int { return len(a) - len(b) })
	var out []uint32
	for uid := range sets[0] {
		if !slices.ContainsFunc(sets[1:], func(s map[uint32]bool) bool { return !s[uid] }) {
			out = append(out, uid)
		}
	}
	slices.Sort(out)
	return out, true
}

// uidOnly reports whether keys need nothing of a message but its UID,
// sequence number and text.
func uidOnly(keys []imap.SearchKey) bool {
	for _, k := range keys {
		switch k.Op {
		case "ALL", "UID", "SEQSET", "AND", "OR", "NOT":
		default:
			// Only a key the text index answers needs no message.
			if _, ok := textQuery(k); !ok {
				return false
			}
		}
		if !uidOnly(k.Keys) {
			return false
		}
	}
	return true
}

// maxPointLoads is how many messages loadFew reads one by one; past it,
// listing the mailbox costs less.
const maxPointLoads = 256

// loadFew returns the store's messages for uids (ascending), leaving out
// those no longer there: one by one when they are few.
func (ss *session) loadFew(ctx context.Context, uids []uint32) ([]store.Message, error) {
	if len(uids) > maxPointLoads {
		return ss.loadMessages(ctx, uids)
	}
	return ss.getMessages(ctx, uids)
}
