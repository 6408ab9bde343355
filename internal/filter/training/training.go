// Package training teaches the spam filter from what people do with
// their mail: moving or copying a message into the mailbox with the
// \Junk special use (RFC 6154) says spam; into the mailbox named
// Phishing, phishing; out of either into any mailbox but Trash, not
// spam. Each lesson goes to the content classifier (a Learner) and to
// sender reputation (package reputation, as a person's report).
//
// The Phishing mailbox is created, with no special use, the first time
// someone reports phishing through the API (so a client's "move to
// Phishing" has a target after that); it is not created at login, since
// most people never use it and an unexplained mailbox is clutter. A
// client may create it itself: any mailbox of that exact name counts.
//
// Each message body keeps a small record of what was learnt from it, per
// account (in store.KV, for a year): a message moved back out of Junk
// takes back its spam lesson before teaching ham, a message copied into
// Junk twice is learnt from once, and one moved from Junk to Phishing is
// relearnt as phishing.
//
// What reputation is told is read from the message as stored: the sender
// domain only when our own Authentication-Results field says DMARC passed
// for it (a forged From must not spoil a domain), the address from our
// own topmost Received field, and the hosts of the message's links as the
// filter's own parse finds them (package content).
//
// Lessons are taught one at a time per Trainer, so the records stay
// right within a process; nodes sharing a PostgreSQL store (Shared) claim
// each message's lesson in store.KV first (AddValue), so that its moves
// racing on two nodes are taught one after the other.
//
// Left out: learning from messages deleted unread, from flags ($Junk and
// $NotJunk keywords), and from a move out of Junk into Trash (which says
// nothing about the message).
package training

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"sealpost.dev/sealpost/internal/authres"
	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/filter/reputation"
	"sealpost.dev/sealpost/internal/mimeutil"
	"sealpost.dev/sealpost/internal/store"
)

// The classes a message is learnt as.
const (
	Ham   = reputation.Ham
	Spam  = reputation.Spam
	Phish = reputation.Phish
)

// PhishingMailbox is the name of the mailbox that reports phishing.
const PhishingMailbox = "Phishing"

// Learner is the content classifier's side of training: one person's
// lesson about one message, given whole as stored. Unlearn takes back a
// lesson Learn gave for the same bytes and class.
type Learner interface {
	Learn(ctx context.Context, accountID int64, raw []byte, class string) error
	Unlearn(ctx context.Context, accountID int64, raw []byte, class string) error
}

// Recorder is reputation's side: *reputation.Reputation.
type Recorder interface {
	Record(ctx context.Context, o reputation.Observation) error
}

// Store is what training needs of store.Store.
type Store interface {
	ListMessages(ctx context.Context, mailboxID int64, fromUID uint32, limit int) ([]store.Message, error)
	OpenBody(ctx context.Context, blobID string) (io.ReadCloser, error)
	GetValue(ctx context.Context, namespace, key string) ([]byte, error)
	PutValue(ctx context.Context, namespace, key string, value []byte, expires time.Time) error
	AddValue(ctx context.Context, namespace, key string, value []byte, expires time.Time) (bool, error)
	DeleteValue(ctx context.Context, namespace, key string) error
}

// Bounds.
const (
	MaxMessageBytes = 16 << 20 // of a message read to learn from; larger ones are skipped
	recordNamespace = "filter-training"
	recordFor       = 365 * 24 * time.Hour
	listBatch       = 500
	maxListed       = 20000 // messages looked through to find the copies

	// A lesson's claim (Trainer.Shared): held while it is taught (well
	// under a second), and run out on its own if the node stops
	// meanwhile; a claim of another node is waited for, polling, up to
	// claimWait, longer than a claim left behind lives.
	claimFor   = 15 * time.Second
	claimWait  = 30 * time.Second
	claimPoll  = 100 * time.Millisecond
	claimInfix = "claim/"
)

// Trainer turns moves into lessons. It implements imapserver.Trainer.
type Trainer struct {
	Store      Store
	Learner    Learner  // nil: the classifier is not taught
	Reputation Recorder // nil: reputation is not told
	// AuthservID names our Authentication-Results fields, Hostname the
	// "by" of our Received fields (see Describe).
	AuthservID, Hostname string
	Logger               *slog.Logger
	// Shared says other nodes share the store (PostgreSQL): each lesson
	// is then claimed in it first, so that moves of one message racing
	// on two nodes are taught one after the other.
	Shared bool

	mu sync.Mutex // one lesson at a time, so that the records stay right
}

// ClassOf is what a move from one mailbox to another teaches: Spam, Phish,
// Ham, or "" for nothing.
func ClassOf(from, to store.Mailbox) string {
	switch {
	case from.ID == to.ID:
		return ""
	case isPhishing(to):
		if isPhishing(from) {
			return ""
		}
		return Phish
	case isJunk(to):
		if isJunk(from) {
			return ""
		}
		return Spam
	case (isJunk(from) || isPhishing(from)) && to.SpecialUse != `\Trash`:
		return Ham
	}
	return ""
}

func isJunk(m store.Mailbox) bool     { return m.SpecialUse == `\Junk` }
func isPhishing(m store.Mailbox) bool { return m.Name == PhishingMailbox }

// Moved learns from messages copied or moved from one mailbox to another:
// messageIDs are the copies in to, whose UIDs are at or above to.UIDNext.
// Errors are logged: the move happened whatever training makes of it.
func (t *Trainer) Moved(ctx context.Context, accountID int64, from, to store.Mailbox, messageIDs []int64) {
	class := ClassOf(from, to)
	if class == "" || len(messageIDs) == 0 {
		return
	}
	msgs, err := t.find(ctx, to, messageIDs)
	if err != nil {
		t.log().Warn("training: finding the moved messages", "account", accountID, "mailbox", to.Name, "err", err)
		return
	}
	for _, m := range msgs {
		if err := t.Teach(ctx, accountID, m, class); err != nil {
			t.log().Warn("training: learning from a message", "account", accountID, "message", m.ID, "class", class, "err", err)
		}
	}
}

// find returns the messages of mb with the given IDs, looking from
// mb.UIDNext on. Those gone meanwhile (moved on, expunged) are left out.
func (t *Trainer) find(ctx context.Context, mb store.Mailbox, ids []int64) ([]store.Message, error) {
	want := make(map[int64]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var out []store.Message
	from := mb.UIDNext
	for listed := 0; listed < maxListed && len(out) < len(ids); {
		batch, err := t.Store.ListMessages(ctx, mb.ID, from, listBatch)
		if err != nil {
			return out, err
		}
		for _, m := range batch {
			if want[m.ID] {
				out = append(out, m)
			}
		}
		if len(batch) < listBatch {
			break
		}
		listed += len(batch)
		from = batch[len(batch)-1].UID + 1
	}
	return out, nil
}

// Teach learns class from one message of the account: it takes back the
// lesson its body gave before, if another, then teaches the classifier
// and reputation, and keeps the record. Learning the class already learnt
// does nothing.
func (t *Trainer) Teach(ctx context.Context, accountID int64, m store.Message, class string) error {
	switch class {
	case Ham, Spam, Phish:
	default:
		return fmt.Errorf("training: unknown class %q", class)
	}
	if t.Shared {
		// Claimed before the node's own lock, so that waiting for
		// another node's claim holds up no other message's lesson.
		release, err := t.claim(ctx, accountID, m.BlobID)
		if err != nil {
			return err
		}
		defer release()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	prev, err := Learnt(ctx, t.Store, accountID, m.BlobID)
	if err != nil {
		return err
	}
	if prev == class {
		return nil
	}
	raw, err := t.read(ctx, m.BlobID)
	if err != nil {
		return err
	}
	d := Describe(raw, t.AuthservID, t.Hostname)
	if prev != "" {
		if err := t.lesson(ctx, accountID, raw, d, prev, true); err != nil {
			return err
		}
	}
	if err := t.lesson(ctx, accountID, raw, d, class, false); err != nil {
		return err
	}
	if err := t.Store.PutValue(ctx, recordNamespace, recordKey(accountID, m.BlobID), []byte(class), time.Now().Add(recordFor)); err != nil {
		return fmt.Errorf("training: %w", err)
	}
	return nil
}

// ErrBusy is Teach's answer when another node held the message's lesson
// for longer than it waits.
var ErrBusy = errors.New("training: another node is teaching this message")

// claim claims the lessons of one message body of an account in the
// store, waiting for another node's claim to be given back or run out,
// and returns what gives it back.
func (t *Trainer) claim(ctx context.Context, accountID int64, blobID string) (func(), error) {
	key := claimInfix + recordKey(accountID, blobID)
	deadline := time.Now().Add(claimWait)
	for {
		ok, err := t.Store.AddValue(ctx, recordNamespace, key, nil, time.Now().Add(claimFor))
		if err != nil {
			return nil, fmt.Errorf("training: %w", err)
		}
		if ok {
			return func() {
				if err := t.Store.DeleteValue(context.WithoutCancel(ctx), recordNamespace, key); err != nil {
					t.log().Warn("training: giving back a lesson's claim", "account", accountID, "err", err)
				}
			}, nil
		}
		if time.Now().After(deadline) {
			return nil, ErrBusy
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(claimPoll):
		}
	}
}

// Learnt returns the class an account's moves last taught from a
// message body (Ham, Spam or Phish), or "" when they taught nothing from
// it in the past year.
func Learnt(ctx context.Context, kv interface {
	GetValue(ctx context.Context, namespace, key string) ([]byte, error)
}, accountID int64, blobID string) (string, error) {
	v, err := kv.GetValue(ctx, recordNamespace, recordKey(accountID, blobID))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("training: %w", err)
	}
	return string(v), nil
}

func recordKey(accountID int64, blobID string) string {
	return strconv.FormatInt(accountID, 10) + "/" + blobID
}

// lesson gives (or, with undo, takes back) one lesson to the classifier
// and to reputation.
func (t *Trainer) lesson(ctx context.Context, accountID int64, raw []byte, d Description, class string, undo bool) error {
	if t.Learner != nil {
		learn := t.Learner.Learn
		if undo {
			learn = t.Learner.Unlearn
		}
		if err := learn(ctx, accountID, raw, class); err != nil {
			return fmt.Errorf("training: classifier: %w", err)
		}
	}
	if t.Reputation != nil {
		o := reputation.Observation{SenderDomain: d.SenderDomain, IP: d.IP, LinkDomains: d.LinkDomains,
			Class: class, Source: reputation.FromUser, Undo: undo}
		if err := t.Reputation.Record(ctx, o); err != nil {
			return fmt.Errorf("training: %w", err)
		}
	}
	return nil
}

// read returns a body, at most MaxMessageBytes.
func (t *Trainer) read(ctx context.Context, blobID string) ([]byte, error) {
	raw, err := ReadBody(ctx, t.Store, blobID)
	if err != nil {
		return nil, fmt.Errorf("training: %w", err)
	}
	return raw, nil
}

// ErrTooLarge is ReadBody's refusal of a body over MaxMessageBytes.
var ErrTooLarge = fmt.Errorf("message larger than %d bytes: too large to learn from", MaxMessageBytes)

// ReadBody reads a stored body to learn from: ErrTooLarge past
// MaxMessageBytes, without reading further.
func ReadBody(ctx context.Context, st interface {
	OpenBody(ctx context.Context, blobID string) (io.ReadCloser, error)
}, blobID string) ([]byte, error) {
	r, err := st.OpenBody(ctx, blobID)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	raw, err := io.ReadAll(io.LimitReader(r, MaxMessageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	if len(raw) > MaxMessageBytes {
		return nil, ErrTooLarge
	}
	return raw, nil
}

func (t *Trainer) log() *slog.Logger {
	if t.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return t.Logger
}

// Description is what reputation is told of a message.
type Description struct {
	SenderDomain string // DMARC passed for it, by our own results; "" if not
	IP           netip.Addr
	LinkDomains  []string // hosts of links, each once, at most reputation.MaxLinkDomains
}

// Describe reads a stored message for reputation: the header.from of a
// DMARC pass in our Authentication-Results (those naming authservID: the
// delivery removed any forged ones), the address in the topmost Received
// field when it is ours (by hostname), and the hosts of the links that
// content.Parse finds (in decoded text and HTML, as the filter sees them).
func Describe(raw []byte, authservID, hostname string) Description {
	var d Description
	_, h := mimeutil.ParseHeader(raw)
	receivedSeen := false
	for _, f := range h {
		switch {
		case strings.EqualFold(f.Name, "Authentication-Results") && d.SenderDomain == "":
			d.SenderDomain = dmarcPass(f.Value, authservID)
		case strings.EqualFold(f.Name, "Received") && !receivedSeen:
			receivedSeen = true
			d.IP = receivedIP(f.Value, hostname)
		}
	}
	d.LinkDomains = linkHosts(raw)
	return d
}

// dmarcPass returns the header.from domain of a DMARC pass in an
// Authentication-Results value of ours.
func dmarcPass(value, authservID string) string {
	if authservID == "" {
		return ""
	}
	p, _ := authres.Parse(value)
	if !strings.EqualFold(strings.TrimSuffix(p.AuthservID, "."), strings.TrimSuffix(authservID, ".")) {
		return ""
	}
	for _, r := range p.Results {
		if r.Method != "dmarc" || r.Value != "pass" {
			continue
		}
		for _, pr := range r.Props {
			if strings.EqualFold(pr.Type, "header") && strings.EqualFold(pr.Name, "from") {
				return strings.ToLower(pr.Value)
			}
		}
	}
	return ""
}

var (
	literalRE = regexp.MustCompile(`\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]`)
	byRE      = regexp.MustCompile(`(?i)(?:^|\s)by\s+([^\s;()]+)`)
)

// receivedIP returns the connecting address of a Received value written
// by hostname: the address literal of its from clause.
func receivedIP(value, hostname string) netip.Addr {
	by := byRE.FindStringSubmatch(value)
	if hostname == "" || by == nil || !strings.EqualFold(by[1], hostname) {
		return netip.Addr{}
	}
	fromPart, _, _ := strings.Cut(value, by[0])
	m := literalRE.FindAllStringSubmatch(fromPart, -1)
	if m == nil {
		return netip.Addr{}
	}
	ip, err := netip.ParseAddr(m[len(m)-1][1])
	if err != nil {
		return netip.Addr{}
	}
	return ip
}

// linkHosts returns the hosts of a message's links, as content.Parse
// finds them (decoded, in text and HTML), each once.
func linkHosts(raw []byte) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range content.Parse(raw).Links {
		h := strings.TrimRight(l.Host, ".-")
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		out = append(out, h)
		if len(out) == reputation.MaxLinkDomains {
			break
		}
	}
	return out
}
