package filter

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/filter/reputation"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// phishingDir is the Nazario phishing corpus, read in place.
const phishingDir = "../../../shared/conformance/phishing-nazario"

// corpusMail is one labelled message of the corpora.
type corpusMail struct {
	name, label string
	raw         []byte
}

// testSplit reports whether raw is in the fixed test split: the first
// byte of its SHA-256 below 77.
func testSplit(raw []byte) bool {
	sum := sha256.Sum256(raw)
	return sum[0] < 77
}

// readCorpora returns the messages of the SpamAssassin corpus (ham and
// spam) and of the Nazario corpus (phish).
func readCorpora(t testing.TB) []corpusMail {
	labels, err := os.ReadFile(filepath.Join(corpusDir, "labels.tsv"))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skipf("corpus missing: %v", err)
	}
	var out []corpusMail
	for i, line := range strings.Split(strings.TrimSpace(string(labels)), "\n") {
		if i == 0 {
			continue // the heading
		}
		f := strings.Split(line, "\t")
		raw, err := os.ReadFile(filepath.Join(corpusDir, f[0]))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, corpusMail{f[0], f[1], raw})
	}
	for _, name := range []string{"phishing0.mbox", "phishing1.mbox", "20051114.mbox"} {
		b, err := os.ReadFile(filepath.Join(phishingDir, name))
		if err != nil {
			t.Fatal(err)
		}
		for i, raw := range splitMbox(b) {
			out = append(out, corpusMail{fmt.Sprintf("%s#%d", name, i), "phish", raw})
		}
	}
	return out
}

// splitMbox cuts an mbox into messages without their "From " lines,
// with ">From " lines unquoted (mboxrd: one '>' less).
func splitMbox(b []byte) [][]byte {
	var out [][]byte
	var cur *bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.HasPrefix(line, []byte("From ")) {
			if cur != nil {
				out = append(out, cur.Bytes())
			}
			cur = &bytes.Buffer{}
			continue
		}
		if cur == nil {
			continue
		}
		if q := bytes.TrimLeft(line, ">"); len(q) < len(line) && bytes.HasPrefix(q, []byte("From ")) {
			line = line[1:]
		}
		cur.Write(line)
		cur.WriteByte('\n')
	}
	if cur != nil {
		out = append(out, cur.Bytes())
	}
	return out
}

// TestAdaptersOnCorpus scores the corpora's TEST split with every check
// but the content classifier (no authentication results: the corpora
// have none; reputation over an empty store, so every link domain is
// new to it), and reports per class how many messages reach warn, Junk
// and reject. At most one test ham may reach Junk or beyond (0.1 %).
// Nothing here was tuned on the test split.
func TestAdaptersOnCorpus(t *testing.T) {
	mails := readCorpora(t)
	st, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := &Filter{RejectScore: 15, JunkScore: 6, WarnScore: 3}
	allLocalChecks(f, NewPhish(&directory{}), reputation.New(st, reputation.Policy{}, nil))
	f.Checks[1] = Headers{Now: func() time.Time { return time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC) }}
	type count struct{ n, warned, warn, junk, reject int }
	counts := map[string]*count{}
	findings := map[string]int{}
	hamJunk := 0
	for _, m := range mails {
		if !testSplit(m.raw) {
			continue
		}
		env := &delivery.Envelope{ID: m.name, RemoteIP: netip.MustParseAddr("192.0.2.1")}
		in := &Input{Env: env, Raw: m.raw, Message: content.Parse(m.raw)}
		res := f.score(t.Context(), in)
		if res.Action != Reject {
			res = f.scoreAccount(t.Context(), in, res, Recipient{ID: 2, Address: "bob@example.org"})
		}
		c := counts[m.label]
		if c == nil {
			c = &count{}
			counts[m.label] = c
		}
		c.n++
		if res.warned() {
			c.warned++
		}
		switch res.Action {
		case Warn:
			c.warn++
		case Junk:
			c.junk++
		case Reject:
			c.reject++
		}
		if m.label == "ham" && res.Action >= Junk {
			hamJunk++
			t.Logf("test ham %s scores %.1f: %v", m.name, res.Total, res.Scores)
		}
		for _, s := range res.Scores {
			findings[m.label+" "+s.Name]++
		}
	}
	labels := []string{"ham", "spam", "phish"}
	for _, l := range labels {
		c := counts[l]
		if c == nil {
			t.Fatalf("no test %s", l)
		}
		t.Logf("test %-5s %4d messages: %4d warn, %4d junk, %4d reject (%.1f%% at junk or above); %d with a warning finding",
			l, c.n, c.warn, c.junk, c.reject, 100*float64(c.junk+c.reject)/float64(c.n), c.warned)
	}
	if hamJunk > 1 {
		t.Errorf("%d test ham at Junk or above, want at most 1", hamJunk)
	}
	if testing.Verbose() {
		keys := make([]string, 0, len(findings))
		for k := range findings {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t.Logf("%-60s %d", k, findings[k])
		}
	}
}
