package filter

import (
	"os"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/filter/reputation"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// benchMessage is a multipart/alternative message of about 8 KB.
func benchMessage(b *testing.B) []byte {
	msg, err := os.ReadFile("testdata/banner/alternative.msg")
	if err != nil {
		b.Fatal(err)
	}
	para := strings.Repeat("Your account will be closed unless you verify it today.\r\n", 60)
	return []byte(strings.Replace(string(msg), "today.\r\n", "today.\r\n"+para+para, 1))
}

// BenchmarkFilter is the filter's whole cost per message for one local
// recipient: reading and parsing it, the built-in checks and one
// network check (answering at once), the decision, the header fields and
// the log record (to a discarding logger).
func BenchmarkFilter(b *testing.B) {
	msg := benchMessage(b)
	f := &Filter{RejectScore: 15, JunkScore: 6, WarnScore: 3,
		Checks: append(Builtin(), fake{name: "net", network: true, scores: []Score{sc("x", 1)}})}
	env := hookEnv("ann@example.org")
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		v, err := f.Check(b.Context(), env, delivery.Spool(msg))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := v.ForAccount(b.Context(), "ann@example.org"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFramework is the framework alone, the message parsed already:
// running four checks (one of them network) under the deadline and
// deciding.
func BenchmarkFramework(b *testing.B) {
	f := &Filter{RejectScore: 15, JunkScore: 6, WarnScore: 3, Checks: []Check{
		fake{name: "a", scores: []Score{sc("x", 1)}}, fake{name: "b"}, fake{name: "c", scores: []Score{sc("y", 2), sc("z", 0.5)}},
		fake{name: "net", network: true, scores: []Score{sc("x", 1)}}}}
	in := testInput()
	b.ReportAllocs()
	for b.Loop() {
		if res := f.score(b.Context(), in); res.Total != 4.5 {
			b.Fatal(res)
		}
	}
}

// BenchmarkBanner is the cost of rewriting a message with the banner.
func BenchmarkBanner(b *testing.B) {
	msg := benchMessage(b)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := AddBanner(msg, testBanner); !ok {
			b.Fatal("no banner")
		}
	}
}

// BenchmarkAllLocalChecks is the whole hook per message for one local
// recipient with every check that needs no network (blocklists and
// clamd off, no classifier): the built-in checks, attachments, the
// phishing heuristics (message and recipient), and reputation's
// assessment over SQLite (an empty store: one query per message).
func BenchmarkAllLocalChecks(b *testing.B) {
	for _, tc := range []struct {
		name string
		msg  func(b *testing.B) []byte
	}{
		{"alternative-8k", benchMessage},
		{"phishing", func(*testing.B) []byte { return []byte(phishingMsg) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			msg := tc.msg(b)
			st, err := sqlite.Open(b.Context(), b.TempDir(), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			banner, _ := ParseBanner(DefaultBanner)
			f := &Filter{RejectScore: 15, JunkScore: 6, WarnScore: 3, Banner: banner}
			allLocalChecks(f, NewPhish(&directory{}), reputation.New(st, reputation.Policy{}, nil))
			env := hookEnv("bob@example.org")
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				v, err := f.Check(b.Context(), env, delivery.Spool(msg))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := v.ForAccount(b.Context(), "bob@example.org"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAllLocalChecksCorpus is the same hook over the corpora's test
// split, one message per iteration in turn: the cost of real mail of all
// sizes and kinds (ham, spam and phishing).
func BenchmarkAllLocalChecksCorpus(b *testing.B) {
	var msgs [][]byte
	for _, m := range readCorpora(b) {
		if testSplit(m.raw) {
			msgs = append(msgs, m.raw)
		}
	}
	st, err := sqlite.Open(b.Context(), b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	banner, _ := ParseBanner(DefaultBanner)
	f := &Filter{RejectScore: 15, JunkScore: 6, WarnScore: 3, Banner: banner}
	allLocalChecks(f, NewPhish(&directory{}), reputation.New(st, reputation.Policy{}, nil))
	env := hookEnv("bob@example.org")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		v, err := f.Check(b.Context(), env, delivery.Spool(msgs[i%len(msgs)]))
		if err != nil {
			b.Fatal(err)
		}
		if v.ForAccount != nil {
			if _, err := v.ForAccount(b.Context(), "bob@example.org"); err != nil {
				b.Fatal(err)
			}
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
