package classify

import (
	"testing"

	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/filter/corpus"
)

// BenchmarkClassify measures the whole per-message work: parse, extract,
// score, over the test split.
func BenchmarkClassify(b *testing.B) {
	msgs := loadCorpus(b)
	m, err := Train(examplesOf(msgs, corpus.Train), TrainOptions{Folds: 2, Epochs: 2})
	if err != nil {
		b.Fatal(err)
	}
	var raws [][]byte
	bytes := 0
	for _, l := range msgs {
		if l.split == corpus.Test {
			raws = append(raws, l.raw)
			bytes += len(l.raw)
		}
	}
	b.SetBytes(int64(bytes / len(raws)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.Classify(Extract(content.Parse(raws[i%len(raws)])))
	}
}
