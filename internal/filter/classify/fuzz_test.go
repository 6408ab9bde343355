package classify

import (
	"testing"

	"sealpost.dev/sealpost/internal/filter/content"
)

// FuzzUnmarshalModel checks that damaged models are errors, never
// panics, and that what decodes scores and re-encodes to the same bytes.
func FuzzUnmarshalModel(f *testing.F) {
	ex, vocab := synthetic(10)
	m, err := Train(ex, TrainOptions{Bits: 10, Folds: 2, Vocabulary: vocab})
	if err != nil {
		f.Fatal(err)
	}
	b, _ := m.MarshalBinary()
	f.Add(b)
	p := NewPersonal()
	p.Learn(m, ex[0].Features, Spam)
	pb, _ := p.MarshalBinary()
	f.Add(pb)
	f.Add([]byte(modelMagic + "\x0a"))
	feats := Extract(content.Parse([]byte("Subject: hello\n\nworld\n")))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := UnmarshalModel(b); err == nil {
			m.Score(feats)
			m.Explain(feats, 5)
			again, err := m.MarshalBinary()
			if err != nil || string(again) != string(b) {
				t.Fatalf("re-encoding differs")
			}
		}
		if p, err := UnmarshalPersonal(b); err == nil {
			ScoreWith(m, p, feats)
		}
	})
}

// FuzzExtract checks that any message gives sorted, unique features.
func FuzzExtract(f *testing.F) {
	f.Add([]byte("Subject: x\n\nhttp://a.example/ b c"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		feats := Extract(content.Parse(raw))
		for i := 1; i < len(feats); i++ {
			if feats[i] <= feats[i-1] {
				t.Fatal("features not sorted and unique")
			}
		}
	})
}
