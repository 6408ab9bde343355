package classify

import (
	"fmt"
	"os"
	"testing"

	"sealpost.dev/sealpost/internal/filter/corpus"
)

func TestZZOOF(t *testing.T) {
	out := os.Getenv("SEALPOST_OOF")
	if out == "" {
		t.Skip()
	}
	var names []string
	var ex []Example
	for _, l := range loadCorpus(t) {
		if corpus.Train.In(l.raw) {
			names = append(names, l.name)
			ex = append(ex, l.ex)
		}
	}
	f, _ := os.Create(out)
	defer f.Close()
	for d := range 3 {
		s := crossValidate(ex, TrainOptions{Seed: uint64(d + 1)}.withDefaults())
		for i, x := range s {
			fmt.Fprintf(f, "%d\t%s\t%s\t%.4f\t%.4f\n", d, names[i], x.class, x.scores.Spam, x.scores.Phish)
		}
	}
}
