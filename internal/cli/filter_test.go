package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/filter"
	"sealpost.dev/sealpost/internal/store"
)

// filterCorpus writes a small labelled corpus in the three layouts: ham
// as a directory of files, spam as a maildir, phishing as an mbox.
func filterCorpus(t *testing.T) (ham, spam, phish string) {
	t.Helper()
	dir := t.TempDir()
	ham, spam, phish = filepath.Join(dir, "ham"), filepath.Join(dir, "spam"), filepath.Join(dir, "phish.mbox")
	for _, d := range []string{ham, filepath.Join(spam, "cur"), filepath.Join(spam, "new"), filepath.Join(spam, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	words := [][]string{
		strings.Fields("meeting agenda project review patch kernel build release notes lunch thanks schedule"),
		strings.Fields("cheap pills casino winner offer free money mortgage rates lowest discount unsubscribe"),
		strings.Fields("verify account suspended password bank login confirm identity security update billing"),
	}
	var mbox strings.Builder
	for i := range 40 {
		for c, w := range words {
			var body []string
			for j := range 10 {
				body = append(body, w[(i*5+j*7)%len(w)])
			}
			msg := fmt.Sprintf("From: Sender %d <s%d@example%d.com>\nSubject: %s %s\n\n%s\n", i, i, c, w[i%len(w)], w[(i+3)%len(w)], strings.Join(body, " "))
			var err error
			switch c {
			case 0:
				err = os.WriteFile(filepath.Join(ham, fmt.Sprintf("%03d", i)), []byte(msg), 0o644)
			case 1:
				err = os.WriteFile(filepath.Join(spam, "cur", fmt.Sprintf("%d.x:2,S", i)), []byte(msg), 0o644)
			case 2:
				fmt.Fprintf(&mbox, "From phisher Mon Jan  1 00:00:00 2024\n%s\n", msg)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(phish, []byte(mbox.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return ham, spam, phish
}

func TestFilterCommands(t *testing.T) {
	dir := t.TempDir()
	ham, spam, phish := filterCorpus(t)
	if code, _, stderr := run(t, "filter", "eval", "--data", dir, "--ham", ham, "--spam", spam); code != 2 || !strings.Contains(stderr, "filter train first") {
		t.Errorf("eval before train: exit %d: %s", code, stderr)
	}
	var trained struct {
		Counts     map[string]int     `json:"counts"`
		Thresholds map[string]float64 `json:"thresholds"`
		ModelBytes int                `json:"model_bytes"`
	}
	runJSON(t, &trained, "filter", "train", "--data", dir, "--ham", ham, "--spam", spam, "--phish", phish, "--json")
	if trained.Counts["ham"] != 40 || trained.Counts["spam"] != 40 || trained.Counts["phish"] != 40 || trained.ModelBytes == 0 {
		t.Errorf("train: %+v", trained)
	}
	var r struct {
		SpamRecall        *float64                  `json:"spam_recall"`
		HamFPRate         *float64                  `json:"ham_fp_rate"`
		PhishRecall       *float64                  `json:"phish_recall"`
		MessagesPerSecond float64                   `json:"messages_per_second"`
		Confusion         map[string]map[string]int `json:"confusion"`
		Counts            map[string]int            `json:"counts"`
		ClassifierOnly    *struct {
			SpamRecall        *float64       `json:"spam_recall"`
			MessagesPerSecond float64        `json:"messages_per_second"`
			Counts            map[string]int `json:"counts"`
		} `json:"classifier_only"`
	}
	code, out, stderr := run(t, "filter", "eval", "--ham", ham, "--data", dir, "--spam", spam, "--phish="+phish, "--json")
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	for _, key := range []string{`"spam_recall"`, `"ham_fp_rate"`, `"phish_recall"`, `"phish_as_phish"`, `"messages_per_second"`, `"confusion"`, `"counts"`} {
		if !strings.Contains(out, key) {
			t.Errorf("eval --json lacks %s: %s", key, out)
		}
	}
	runJSON(t, &r, "filter", "eval", "--data", dir, "--ham", ham, "--spam", spam, "--phish", phish, "--json")
	if r.SpamRecall == nil || *r.SpamRecall < 0.9 || *r.HamFPRate > 0.05 || *r.PhishRecall < 0.9 || r.MessagesPerSecond <= 0 {
		t.Errorf("eval on the training data: %+v", r)
	}
	if c := r.ClassifierOnly; c == nil || c.SpamRecall == nil || *c.SpamRecall < 0.9 || c.MessagesPerSecond <= 0 || c.Counts["spam"] != 40 {
		t.Errorf("eval's classifier_only: %+v", c)
	}
	if r.Counts["ham"] != 40 || r.Confusion["ham"]["ham"]+r.Confusion["ham"]["spam"]+r.Confusion["ham"]["phish"] != 40 {
		t.Errorf("counts %v confusion %v", r.Counts, r.Confusion)
	}
	// The splits part the corpus.
	var test, train struct{ Counts map[string]int }
	runJSON(t, &test, "filter", "eval", "--data", dir, "--split", "test", "--ham", ham, "--spam", spam, "--json")
	runJSON(t, &train, "filter", "eval", "--data", dir, "--split", "train", "--ham", ham, "--spam", spam, "--json")
	if test.Counts["ham"]+train.Counts["ham"] != 40 || test.Counts["ham"] == 0 || train.Counts["ham"] == 0 {
		t.Errorf("split counts: test %v train %v", test.Counts, train.Counts)
	}
	code, out, _ = run(t, "filter", "eval", "--data", dir, "--ham", ham, "--spam", spam)
	if code != 0 || !strings.Contains(out, "spam recall") || !strings.Contains(out, "confusion") ||
		!strings.Contains(out, "whole local filter") || !strings.Contains(out, "content classifier alone") {
		t.Errorf("eval text: exit %d: %s", code, out)
	}
	// Labelled the wrong way round, the spam is misjudged as it is
	// listed: each message with what it is, what it was judged and why.
	code, _, stderr = run(t, "filter", "eval", "--misjudged", "--data", dir, "--ham", spam, "--spam", ham)
	if lines := strings.Count(stderr, ": ham judged spam, score "); code != 0 || lines < 30 || !strings.Contains(stderr, "classifier.spam=") {
		t.Errorf("eval --misjudged: exit %d, %d lines: %s", code, lines, stderr)
	}
	for _, args := range [][]string{
		{"filter", "train", "--data", dir, "--ham", ham, "--spam", spam, "--misjudged"},
		{"filter", "train", "--data", dir, "--spam", spam},
		{"filter", "train", "--data", dir, "--ham", ham},
		{"filter", "train", "--data", dir, "--ham", ham, "--spam", spam, "--split", "half"},
		{"filter", "train", "--data", dir, "--ham", ham, "--spam", filepath.Join(dir, "missing")},
		{"filter", "train", "--data", dir, "stray", "--ham", ham, "--spam", spam},
		{"filter", "sort", "--data", dir},
	} {
		if code, _, _ := run(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// TestPhishDecided: a positive verdict is phishing when its Warn scores
// reach Junk alone or outweigh the rest.
func TestPhishDecided(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scores []filter.Score
		want   bool
	}{
		{"classifier spam", []filter.Score{{Name: "classifier.spam", Weight: 8}}, false},
		{"classifier phish", []filter.Score{{Name: "classifier.phish", Weight: 7, Warn: true}}, true},
		{"phish head past its threshold beside heavier spam", []filter.Score{{Weight: 9}, {Weight: 6, Warn: true}}, true},
		{"small finding beside spam", []filter.Score{{Weight: 6}, {Weight: 1, Warn: true}}, false},
		{"findings outweigh", []filter.Score{{Weight: 2}, {Weight: 3, Warn: true}, {Weight: 1, Warn: true}}, true},
		{"negative warn counts nothing", []filter.Score{{Weight: 6}, {Weight: -7, Warn: true}}, false},
		{"nothing", nil, false},
	} {
		if got := phishDecided(filter.Result{Scores: tc.scores}, 6); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestFilterTrainMailboxes: --mailboxes learns from the users' mail, alone
// or with corpora, and says where the model came from.
func TestFilterTrainMailboxes(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	if code, _, stderr := run(t, "filter", "train", "--data", dir, "--mailboxes"); code != 2 || !strings.Contains(stderr, "needs ham") {
		t.Errorf("with no mail: exit %d: %s", code, stderr)
	}
	if code, out, _ := run(t, "filter", "status", "--data", dir); code != 0 || !strings.Contains(out, "global model: none yet") ||
		!strings.Contains(out, "0 ham, 0 spam, 0 phishing (a model needs 200 ham and 200 spam and phishing)") ||
		!strings.Contains(out, "retraining from the users' mail: every 24h\n") {
		t.Errorf("status of a fresh instance: exit %d:\n%s", code, out)
	}
	_, st := openTestInstance(t, dir)
	if _, err := st.CreateDomain(ctx, "home.test"); err != nil {
		t.Fatal(err)
	}
	acct, err := st.CreateAccount(ctx, store.NewAccount{Address: "me@home.test", PasswordHash: "x",
		Mailboxes: []store.NewMailbox{{Name: "INBOX"}, {Name: "Phishing"}}})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-72 * time.Hour)
	for i, kind := range []string{"project meeting notes", "verify your bank password"} {
		mb, err := st.GetMailbox(ctx, acct.ID, []string{"INBOX", "Phishing"}[i])
		if err != nil {
			t.Fatal(err)
		}
		for j := range 5 {
			msg := fmt.Sprintf("From: a@b.test\r\nSubject: %s %d\r\n\r\n%s\r\n", kind, j, kind)
			if _, err := st.Deliver(ctx, strings.NewReader(msg), []store.Target{{MailboxID: mb.ID, Flags: []string{`\Seen`}, InternalDate: old}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	st.Close()

	var trained struct {
		Counts map[string]int `json:"counts"`
		Source string         `json:"source"`
	}
	runJSON(t, &trained, "filter", "train", "--data", dir, "--mailboxes", "--json")
	if trained.Counts["ham"] != 5 || trained.Counts["phish"] != 5 || trained.Source != "mailboxes" {
		t.Errorf("from the mailboxes alone: %+v", trained)
	}
	var status struct {
		Model *struct {
			Updated    time.Time          `json:"updated"`
			Source     string             `json:"source"`
			Bytes      int                `json:"bytes"`
			Thresholds map[string]float64 `json:"thresholds"`
		} `json:"model"`
		Mailboxes map[string]int `json:"mailboxes"`
		Retrain   string         `json:"retrain"`
	}
	runJSON(t, &status, "filter", "status", "--data", dir, "--json")
	if m := status.Model; m == nil || m.Source != "mailboxes" || m.Bytes == 0 || time.Since(m.Updated) > time.Minute ||
		m.Thresholds["phish"] < 0.2 || status.Mailboxes["ham"] != 5 || status.Mailboxes["phish"] != 5 {
		t.Errorf("status after training from the mailboxes: %+v %+v", status, status.Model)
	}
	ham, spam, phish := filterCorpus(t)
	runJSON(t, &trained, "filter", "train", "--data", dir, "--mailboxes", "--ham", ham, "--spam", spam, "--phish", phish, "--json")
	if trained.Counts["ham"] != 45 || trained.Counts["spam"] != 40 || trained.Counts["phish"] != 45 || trained.Source != "corpora and mailboxes" {
		t.Errorf("from corpora and mailboxes: %+v", trained)
	}
	runJSON(t, &trained, "filter", "train", "--data", dir, "--ham", ham, "--spam", spam, "--json")
	if trained.Counts["ham"] != 40 || trained.Source != "corpora" {
		t.Errorf("from corpora alone: %+v", trained)
	}
	if code, out, _ := run(t, "filter", "status", "--data", dir); code != 0 || !strings.Contains(out, "from corpora;") ||
		!strings.Contains(out, "not over this model, trained from corpora") {
		t.Errorf("status after training from corpora: exit %d:\n%s", code, out)
	}
	// eval judges the users' mail too, split as the corpora are.
	var judged struct{ Counts map[string]int }
	runJSON(t, &judged, "filter", "eval", "--data", dir, "--mailboxes", "--json")
	if judged.Counts["ham"] != 5 || judged.Counts["phish"] != 5 || judged.Counts["spam"] != 0 {
		t.Errorf("eval --mailboxes: counts %v", judged.Counts)
	}
	var test, train struct{ Counts map[string]int }
	runJSON(t, &test, "filter", "eval", "--data", dir, "--mailboxes", "--split", "test", "--json")
	runJSON(t, &train, "filter", "eval", "--data", dir, "--mailboxes", "--split", "train", "--json")
	if test.Counts["ham"]+train.Counts["ham"] != 5 || test.Counts["phish"]+train.Counts["phish"] != 5 {
		t.Errorf("eval --mailboxes split: test %v train %v", test.Counts, train.Counts)
	}
}
