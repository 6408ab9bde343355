package filter

import (
	"context"

	"sealpost.dev/sealpost/internal/filter/attach"
)

// Attachments inspects each attachment with package attach: programs,
// scripts, macro documents, disguised names, encrypted archives and
// archive bombs. Its findings are Warn, like the phishing ones.
type Attachments struct {
	Limits attach.Limits // zero fields take attach's defaults
}

// Name implements Check.
func (Attachments) Name() string { return "attach" }

// Check implements Check.
func (a Attachments) Check(ctx context.Context, in *Input) ([]Score, error) {
	var fs []attach.Finding
	for _, at := range in.Message.Attachments {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fs = append(fs, attach.Inspect(at.Name, at.Type, at.Data, a.Limits)...)
	}
	return findingScores(dedupeFindings(fs)), nil
}

// dedupeFindings keeps the heaviest finding of each name: two
// executables are no worse than one, and the sum must not run away with
// the number of attachments.
func dedupeFindings(fs []attach.Finding) []attach.Finding {
	if len(fs) < 2 {
		return fs
	}
	at := map[string]int{}
	var out []attach.Finding
	for _, f := range fs {
		if i, ok := at[f.Name]; ok {
			if f.Score > out[i].Score {
				out[i] = f
			}
			continue
		}
		at[f.Name] = len(out)
		out = append(out, f)
	}
	return out
}
