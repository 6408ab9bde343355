package filter

import (
	"bufio"
	"crypto/sha256"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/filter/content"
)

// corpusDir is the SpamAssassin public corpus, read in place.
const corpusDir = "../../../shared/conformance/spamassassin"

// TestBuiltinOnCorpus scores the SpamAssassin corpus's ham and spam with
// the built-in checks alone (no authentication results: the corpus has
// none) and the default thresholds. Those checks are small signals that
// the classifier and the phishing heuristics add to: alone they must not
// file ham into Junk. The test split (first byte of SHA-256 < 77) is
// reported and must hold no ham at or above the Junk threshold; the
// weights were chosen without it.
func TestBuiltinOnCorpus(t *testing.T) {
	labels, err := os.Open(filepath.Join(corpusDir, "labels.tsv"))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("corpus missing: %v", err)
	}
	defer labels.Close()
	f := &Filter{JunkScore: 6, WarnScore: 3, Checks: []Check{Structure{}, Headers{Now: func() time.Time {
		return time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	}}}}
	type count struct{ n, warn, junk int }
	counts := map[string]*count{}
	names := map[string]int{}
	sc := bufio.NewScanner(labels)
	sc.Scan() // the heading
	for sc.Scan() {
		path, label, _ := strings.Cut(sc.Text(), "\t")
		label, _, _ = strings.Cut(label, "\t")
		raw, err := os.ReadFile(filepath.Join(corpusDir, path))
		if err != nil {
			t.Fatal(err)
		}
		split := "train"
		if sum := sha256.Sum256(raw); sum[0] < 77 {
			split = "test"
		}
		in := &Input{Env: &delivery.Envelope{ID: path}, Raw: raw, Message: content.Parse(raw)}
		res := f.score(t.Context(), in)
		c := counts[split+" "+label]
		if c == nil {
			c = &count{}
			counts[split+" "+label] = c
		}
		c.n++
		switch res.Action {
		case Warn:
			c.warn++
		case Junk:
			c.junk++
			if label == "ham" && split == "test" {
				t.Errorf("test ham %s scores %.1f: %v", path, res.Total, res.Scores)
			}
		}
		if label == "ham" {
			for _, s := range res.Scores {
				names[split+" ham "+s.Name]++
			}
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c := counts[k]
		t.Logf("%-10s %5d messages, %4d warn, %4d junk", k, c.n, c.warn, c.junk)
	}
	if testing.Verbose() {
		for k, n := range names {
			t.Logf("%s: %d", k, n)
		}
	}
}
