package filter

import (
	"bytes"
	"context"
	"errors"
	"log/slog"

	"sealpost.dev/sealpost/internal/clamd"
)

// DefaultInfectedScore is the weight of a virus found: above any sensible
// reject_score, so that an infected message is refused at SMTP time.
const DefaultInfectedScore = 100

// Clamd scans the message with ClamAV's clamd (package clamd). A virus
// found scores "clamd.infected", its reason naming the signature. When
// clamd gives no verdict (it is down, too slow, or answers nonsense) the
// check fails: with clamd among Filter.OnError's Tempfail checks the
// message is deferred (451 4.7.1) and the sender retries, otherwise it
// passes unscanned. A message larger than clamd takes is not scanned,
// and logged: deferring it would only defer it again.
type Clamd struct {
	Client *clamd.Client
	// Score is the weight of a virus; 0 is DefaultInfectedScore.
	Score  float64
	Logger *slog.Logger
}

// Name implements Check.
func (*Clamd) Name() string { return "clamd" }

// Network implements NetworkCheck.
func (*Clamd) Network() bool { return true }

// Check implements Check.
func (c *Clamd) Check(ctx context.Context, in *Input) ([]Score, error) {
	if in.Truncated && c.Logger != nil {
		c.Logger.Warn("clamd: message scanned in part", "id", in.Env.ID, "size", in.Size, "scanned", len(in.Raw))
	}
	res, err := c.Client.Scan(ctx, bytes.NewReader(in.Raw))
	if errors.Is(err, clamd.ErrTooLarge) {
		if c.Logger != nil {
			c.Logger.Warn("clamd: message too large to scan", "id", in.Env.ID, "size", in.Size)
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !res.Infected {
		return nil, nil
	}
	w := c.Score
	if w == 0 {
		w = DefaultInfectedScore
	}
	return []Score{{Name: "infected", Weight: w, Warn: true, Reason: "the virus scanner found " + res.Signature}}, nil
}
