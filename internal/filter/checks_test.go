package filter

import (
	"slices"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/filter/content"
)

func TestBuiltinChecks(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }
	good := "From: Ann <ann@example.org>\r\nTo: bob@example.net\r\nSubject: hi\r\nDate: Sun, 22 Nov 2026 11:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n\r\nHello.\r\n"
	tests := []struct {
		name string
		msg  string
		want []string
	}{
		{name: "clean", msg: good},
		{name: "no date, no message-id", msg: "From: ann@example.org\r\nSubject: x\r\n\r\nHi.\r\n",
			want: []string{"headers.no_date", "headers.no_message_id"}},
		{name: "several from, future date, repeated subject",
			msg:  "From: a@example.org, b@example.org\r\nSubject: x\r\nSubject: y\r\nDate: Sun, 20 Dec 2026 11:00:00 +0000\r\nMessage-ID: <2@x>\r\n\r\nHi.\r\n",
			want: []string{"headers.several_from", "headers.future_date", "headers.repeated_subject"}},
		{name: "no from, bad date", msg: "Subject: x\r\nDate: yesterday\r\nMessage-ID: <3@x>\r\n\r\nHi.\r\n",
			want: []string{"headers.no_from", "headers.bad_date"}},
		{name: "broken multipart", msg: "From: ann@example.org\r\nDate: Sun, 22 Nov 2026 11:00:00 +0000\r\nMessage-ID: <4@x>\r\n" +
			"Content-Type: multipart/mixed\r\n\r\nno boundary\r\n", want: []string{"structure.bad_boundary"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Filter{Checks: []Check{Structure{}, Headers{Now: now}}}
			in := &Input{Env: &delivery.Envelope{ID: "t"}, Raw: []byte(tt.msg), Message: content.Parse([]byte(tt.msg))}
			res := f.score(t.Context(), in)
			if !slices.Equal(names(res.Scores), tt.want) || res.Failed != "" {
				t.Errorf("scores %v (failed %q), want %v", names(res.Scores), res.Failed, tt.want)
			}
			for _, s := range res.Scores {
				if s.Weight <= 0 || s.Reason == "" {
					t.Errorf("score %+v", s)
				}
			}
		})
	}
}

// TestStructureBounded: however many flaws, the structure check adds at
// most maxStructure.
func TestStructureBounded(t *testing.T) {
	m := &content.Message{}
	for f := range flawWeights {
		m.Flaws = append(m.Flaws, f)
	}
	scores, _ := Structure{}.Check(t.Context(), &Input{Message: m})
	total := 0.0
	for _, s := range scores {
		total += s.Weight
	}
	if total != maxStructure {
		t.Errorf("total %v, want %v", total, maxStructure)
	}
}
