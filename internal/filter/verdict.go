package filter

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"strconv"
	"strings"

	"sealpost.dev/sealpost/internal/delivery"
)

// Our header fields.
const (
	ScoreField   = HeaderPrefix + "Score"
	ReasonsField = HeaderPrefix + "Reasons"
)

// maxReason bounds one reason in the header field.
const maxReason = 160

// resultFields returns the header fields that show res: the score with
// the action, and each score with its reason, one per line.
func resultFields(res Result) []string {
	fields := []string{ScoreField + ": " + number(res.Total) + " (" + res.Action.String() + ")"}
	if len(res.Scores) == 0 {
		return fields
	}
	var b strings.Builder
	b.WriteString(ReasonsField + ": ")
	for i, s := range res.Scores {
		if i > 0 {
			b.WriteString(",\r\n\t")
		}
		b.WriteString(fieldText(s.Name, 64) + "=" + number(s.Weight) + " " + strconv.QuoteToASCII(fieldText(s.Reason, maxReason)))
	}
	return append(fields, b.String())
}

// number formats a weight with at most two decimals.
func number(w float64) string {
	return strconv.FormatFloat(math.Round(w*100)/100, 'f', -1, 64)
}

// fieldText makes s safe in a header field: one line, no control
// characters, at most n bytes (the reasons are then quoted in ASCII).
func fieldText(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "..."
	}
	return s
}

// logVerdict logs a verdict with each score; account is "" for a
// message-level decision (reject, defer).
func (f *Filter) logVerdict(ctx context.Context, env *delivery.Envelope, account string, res Result) {
	log := f.log()
	if !log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	scores := make([]any, len(res.Scores))
	for i, s := range res.Scores {
		scores[i] = slog.Float64(s.Name, math.Round(s.Weight*100)/100)
	}
	attrs := []any{"id", env.ID, "score", math.Round(res.Total*100) / 100, "action", res.Action.String(),
		slog.Group("scores", scores...)}
	if account != "" {
		attrs = append(attrs, "account", account)
	}
	if res.Failed != "" {
		attrs = append(attrs, "failed", res.Failed)
	}
	log.Info("filter verdict", attrs...)
}

// ourFields returns the positions of the header fields named with our
// prefix, counted as delivery.Verdict.Drop counts them: each line that
// does not start with white space starts a field.
func ourFields(raw []byte) []int {
	var drop []int
	r := bufio.NewReader(bytes.NewReader(raw))
	field, startOfLine := -1, true
	for {
		line, err := r.ReadSlice('\n')
		if startOfLine && len(line) > 0 {
			if line[0] == '\n' || line[0] == '\r' && (len(line) == 1 || line[1] == '\n') {
				return drop
			}
			if line[0] != ' ' && line[0] != '\t' {
				field++
				if len(line) >= len(HeaderPrefix) && strings.EqualFold(string(line[:len(HeaderPrefix)]), HeaderPrefix) {
					drop = append(drop, field)
				}
			}
		}
		startOfLine = err == nil
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return drop
		}
	}
}
