package filter

import (
	"context"
	"net/mail"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/filter/content"
)

// Structure scores the structural flaws content.Parse met. Legitimate
// mailers rarely make them, bulk tools often do; each weighs little and
// all of them together at most maxStructure, since a flaw alone is no
// proof.
type Structure struct{}

// flawWeights are the weights of the flaws; flaws not listed weigh
// otherFlaw.
var flawWeights = map[string]float64{
	content.FlawNoHeader:        1.5,
	content.FlawBadBoundary:     1,
	content.FlawTooDeep:         1,
	content.FlawTooManyParts:    1,
	content.FlawNoEnd:           0.5,
	content.FlawBadBase64:       0.5,
	content.FlawBadContentType:  0.5,
	content.FlawUnknownEncoding: 0.5,
	content.FlawBadAddress:      0.5,
	content.FlawBadQP:           0.3,
	content.FlawUnknownCharset:  0.3,
	content.FlawBadUTF8:         0.3,
}

const (
	otherFlaw    = 0.1
	maxStructure = 3
)

// Name implements Check.
func (Structure) Name() string { return "structure" }

// Check implements Check.
func (Structure) Check(_ context.Context, in *Input) ([]Score, error) {
	var out []Score
	total := 0.0
	for _, f := range in.Message.Flaws {
		w, ok := flawWeights[f]
		if !ok {
			w = otherFlaw
		}
		w = min(w, maxStructure-total)
		if w <= 0 {
			break
		}
		total += w
		out = append(out, Score{Name: strings.ReplaceAll(f, " ", "_"), Weight: w, Reason: "MIME structure: " + f})
	}
	return out, nil
}

// Headers scores header fields that RFC 5322 section 3.6 requires or
// limits and that bulk senders get wrong: a missing Date or Message-ID,
// fields that may occur once occurring more often, a From with several
// mailboxes and no Sender, a Date far in the future. Each weighs little.
type Headers struct {
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Name implements Check.
func (Headers) Name() string { return "headers" }

// Check implements Check.
func (h Headers) Check(_ context.Context, in *Input) ([]Score, error) {
	m := in.Message
	var out []Score
	add := func(name string, w float64, reason string) {
		out = append(out, Score{Name: name, Weight: w, Reason: reason})
	}
	if len(m.From) == 0 {
		add("no_from", 1.5, "no From address")
	}
	if len(m.From) > 1 && m.Get("Sender") == "" {
		add("several_from", 1, "From names several mailboxes and there is no Sender")
	}
	date := m.Get("Date")
	switch {
	case date == "":
		add("no_date", 0.5, "no Date field")
	default:
		if t, err := mail.ParseDate(date); err != nil {
			add("bad_date", 0.5, "Date does not parse")
		} else if t.After(h.now().Add(48 * time.Hour)) {
			add("future_date", 0.5, "Date is in the future")
		}
	}
	if m.Get("Message-ID") == "" {
		add("no_message_id", 0.5, "no Message-ID field")
	}
	for _, name := range []string{"From", "Date", "Subject", "Message-ID", "To"} {
		if len(m.Values(name)) > 1 {
			add("repeated_"+strings.ToLower(strings.ReplaceAll(name, "-", "_")), 0.5, "several "+name+" fields")
		}
	}
	return out, nil
}

func (h Headers) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Builtin returns the checks of this package that need nothing but the
// message, in their order. (DMARC failure of a domain publishing p=reject
// is the phishing check's: Phish.)
func Builtin() []Check {
	return []Check{Structure{}, Headers{}}
}
