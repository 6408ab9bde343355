package usercorpus

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/filter/corpus"
	"sealpost.dev/sealpost/internal/filter/training"
	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// BenchmarkRetrain makes the global model from a server's mail: the
// training split of the corpora spread over five accounts of a SQLite
// store (ham read and kept in INBOX, spam reported into Junk, phishing in
// Phishing), collected, parsed and trained on as the daily job does.
//
//	go test -run '^$' -bench Retrain -benchtime 3x ./internal/filter/usercorpus
func BenchmarkRetrain(b *testing.B) {
	const conformance = "../../../../shared/conformance"
	if _, err := os.Stat(conformance); err != nil {
		b.Skipf("corpora missing: %v", err)
	}
	ctx := b.Context()
	st, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateDomain(ctx, "home.test"); err != nil {
		b.Fatal(err)
	}
	var accounts []account
	for i := range 5 {
		accounts = append(accounts, newAccount(b, st, fmt.Sprintf("user%d@home.test", i)))
	}
	tr := &training.Trainer{Store: st}
	week := time.Now().Add(-7 * 24 * time.Hour)
	n := 0
	for _, c := range []struct{ path, box string }{
		{"spamassassin/easy_ham", "INBOX"}, {"spamassassin/hard_ham", "INBOX"}, {"spamassassin/spam", "Junk"},
		{"phishing-nazario/phishing0.mbox", "Phishing"}, {"phishing-nazario/phishing1.mbox", "Phishing"},
		{"phishing-nazario/20051114.mbox", "Phishing"},
	} {
		err := corpus.Read(filepath.Join(conformance, c.path), func(_ string, raw []byte) error {
			if corpus.SplitOf(raw) != corpus.Train {
				return nil
			}
			a := accounts[n%len(accounts)]
			n++
			ms, err := st.Deliver(ctx, bytes.NewReader(raw), []store.Target{{MailboxID: a.boxes[c.box].ID, Flags: []string{`\Seen`}, InternalDate: week}})
			if err != nil {
				return err
			}
			if c.box == "Junk" {
				return tr.Teach(ctx, a.ID, ms[0], training.Spam)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	r := &Retrainer{Store: st}
	var res Result
	for b.Loop() {
		if res, err = r.Retrain(ctx); err != nil || !res.Trained {
			b.Fatalf("%+v %v", res, err)
		}
	}
	b.ReportMetric(float64(res.Counts[0]+res.Counts[1]+res.Counts[2]), "messages/op")
	b.ReportMetric(float64(res.ModelBytes), "model-bytes")
}
