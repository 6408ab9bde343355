package classify

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/filter/corpus"
)

// conformance is the corpora's directory, from this package.
const conformance = "../../../../shared/conformance"

// labelled are the corpora and their classes.
var labelled = []struct {
	path  string
	class Class
}{
	{"spamassassin/easy_ham", Ham},
	{"spamassassin/hard_ham", Ham},
	{"spamassassin/spam", Spam},
	{"phishing-nazario/20051114.mbox", Phish},
	{"phishing-nazario/phishing0.mbox", Phish},
	{"phishing-nazario/phishing1.mbox", Phish},
}

// loaded is a corpus message, parsed and reduced to features.
type loaded struct {
	name  string
	split corpus.Split
	raw   []byte
	ex    Example
}

var (
	corpusOnce sync.Once
	corpusMsgs []loaded
	corpusErr  error
)

// loadCorpus reads, parses and extracts every labelled message once per
// test binary; it skips when the corpora are missing and CI is not set.
func loadCorpus(tb testing.TB) []loaded {
	tb.Helper()
	if _, err := os.Stat(conformance); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("corpora missing: %v", err)
		}
		tb.Skipf("corpora missing (and CI not set): %v", err)
	}
	corpusOnce.Do(func() {
		for _, l := range labelled {
			err := corpus.Read(filepath.Join(conformance, l.path), func(name string, raw []byte) error {
				f := Extract(content.Parse(raw))
				corpusMsgs = append(corpusMsgs, loaded{name, corpus.SplitOf(raw), raw, Example{f, l.class}})
				return nil
			})
			if err != nil {
				corpusErr = err
				return
			}
		}
	})
	if corpusErr != nil {
		tb.Fatal(corpusErr)
	}
	return corpusMsgs
}

func examplesOf(msgs []loaded, s corpus.Split) []Example {
	var out []Example
	for _, m := range msgs {
		if s.In(m.raw) {
			out = append(out, m.ex)
		}
	}
	return out
}
