package imapserver

import (
	"context"
	"fmt"
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
