package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/filter"
	"sealpost.dev/sealpost/internal/filter/classify"
	"sealpost.dev/sealpost/internal/filter/content"
	"sealpost.dev/sealpost/internal/filter/corpus"
	"sealpost.dev/sealpost/internal/filter/usercorpus"
	"sealpost.dev/sealpost/internal/mimeutil"
	"sealpost.dev/sealpost/internal/store"
)

// filterUsage is the usage line of filter train and filter eval.
const filterUsage = "filter train|eval [-config FILE | --data DIR] --ham PATH... --spam PATH... [--phish PATH...] [--split train|test|all] [--json]\n" +
	"       filter train|eval [-config FILE | --data DIR] --mailboxes [--ham PATH... --spam PATH... --phish PATH...] [--split ...] [--json]\n" +
	"       filter status [-config FILE | --data DIR] [--json]"

// runFilter trains the content classifier's global model from labelled
// mail, measures it, or tells where it stands: filter train | eval |
// status.
func runFilter(ctx context.Context, env *Env, args []string) error {
	verb, args, err := subcommand(args, "train", "eval", "status")
	if err != nil {
		return err
	}
	if verb == "status" {
		return filterStatus(ctx, env, args)
	}
	fa, err := parseFilterArgs(env, verb, args)
	if err != nil {
		return err
	}
	st, done, err := openStore(ctx, fa.instance)
	if err != nil {
		return err
	}
	defer done()
	if verb == "train" {
		return filterTrain(ctx, env, st, fa)
	}
	return filterEval(ctx, env, st, fa)
}

// filterArgs are the parsed arguments of filter train and eval.
type filterArgs struct {
	instance instanceFlags
	paths    [3][]string // by class
	split    corpus.Split
	// misjudged makes eval list each message the whole filter got wrong,
	// with its scores.
	misjudged bool
	// mailboxes makes train learn from the users' own mail too (package
	// usercorpus).
	mailboxes bool
}

// classFlags name the classes' path lists on the command line.
var classFlags = map[string]classify.Class{"ham": classify.Ham, "spam": classify.Spam, "phish": classify.Phish}

// parseFilterArgs reads the arguments. --ham, --spam and --phish each
// take every argument after them up to the next flag, so that a shell
// glob can follow them ("--phish dir/*.mbox").
func parseFilterArgs(env *Env, verb string, args []string) (filterArgs, error) {
	var fa filterArgs
	var split string
	fs := newFlagSet(env, "filter "+verb, filterUsage)
	fa.instance.register(fs, true)
	if verb == "eval" {
		fs.BoolVar(&fa.misjudged, "misjudged", false, "list each message the whole filter misjudged, with its scores (on standard error)")
		fs.BoolVar(&fa.mailboxes, "mailboxes", false, "judge the users' own mail as well, labelled as the daily retraining labels it (see docs/filter.md); with --split test, the part a model trained with --split train never saw")
	} else {
		fs.BoolVar(&fa.mailboxes, "mailboxes", false, "learn from the users' own mail as well: what they reported as spam or phishing, and what they read and kept (see docs/filter.md)")
	}
	fs.StringVar(&split, "split", "all", "which part of the corpus to use: train, test or all (by SHA-256 of each message)")
	for name := range classFlags {
		fs.Bool(name, false, "the `PATH`s after it are "+name+": directories of one-message files, maildirs or mbox files")
	}
	var rest []string
	current := -1
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			if current < 0 {
				return fa, usagef("filter %s: %q: a path must follow --ham, --spam or --phish", verb, a)
			}
			fa.paths[current] = append(fa.paths[current], a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if c, ok := classFlags[name]; ok {
			current = int(c)
			if hasValue {
				fa.paths[c] = append(fa.paths[c], value)
			}
			continue
		}
		current = -1
		rest = append(rest, a)
		if f := fs.Lookup(name); f != nil && !hasValue && !isBoolFlag(f.Value) && i+1 < len(args) {
			rest = append(rest, args[i+1])
			i++
		}
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return fa, err
		}
		return fa, usageError{err}
	}
	if len(fs.Args()) > 0 {
		return fa, usagef("filter %s: unexpected %q", verb, fs.Args()[0])
	}
	var err error
	if fa.split, err = corpus.ParseSplit(split); err != nil {
		return fa, usageError{err}
	}
	if !fa.mailboxes && (len(fa.paths[classify.Ham]) == 0 || len(fa.paths[classify.Spam])+len(fa.paths[classify.Phish]) == 0) {
		return fa, usagef("filter %s: needs --ham and --spam or --phish paths", verb)
	}
	return fa, nil
}

func isBoolFlag(v any) bool {
	b, ok := v.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// labelled is one message to learn from or judge.
type labelled struct {
	class classify.Class
	name  string // its path, or for the users' mail its Message-ID
	raw   []byte
	users bool // from the users' mail (--mailboxes)
}

// forEachMessage calls fn for every message of the paths of each class
// that is in the split. With --mailboxes, the users' mail follows (package
// usercorpus), split alike.
func forEachMessage(ctx context.Context, st store.Store, fa filterArgs, fn func(labelled)) error {
	err := forEachInPaths(fa, func(c classify.Class, name string, raw []byte) { fn(labelled{c, name, raw, false}) })
	if err != nil || !fa.mailboxes {
		return err
	}
	return usercorpus.Collect(ctx, st, usercorpus.Options{}, func(c classify.Class, raw []byte) {
		if fa.split.In(raw) {
			fn(labelled{c, "users' mail " + messageID(raw), raw, true})
		}
	})
}

// messageID returns the Message-ID of raw, or "(no Message-ID)", from
// the header alone.
func messageID(raw []byte) string {
	if _, h := mimeutil.ParseHeader(raw); h.Get("Message-ID") != "" {
		return h.Get("Message-ID")
	}
	return "(no Message-ID)"
}

func forEachInPaths(fa filterArgs, fn func(c classify.Class, name string, raw []byte)) error {
	for c, paths := range fa.paths {
		for _, p := range paths {
			err := corpus.Read(p, func(name string, raw []byte) error {
				if fa.split.In(raw) {
					fn(classify.Class(c), name, raw)
				}
				return nil
			})
			if err != nil {
				return usagef("filter: %v", err)
			}
		}
	}
	return nil
}

// filterTrain trains the global model and stores it.
func filterTrain(ctx context.Context, env *Env, st store.Store, fa filterArgs) error {
	var set classify.Set
	var fromCorpora [3]int
	err := forEachMessage(ctx, st, fa, func(m labelled) {
		if m.users {
			usercorpus.AddTo(&set, m.class, m.raw)
			return
		}
		set.Add(content.Parse(m.raw), m.class)
		fromCorpora[m.class]++
	})
	if err != nil {
		return err
	}
	counts := set.Counts
	start := time.Now()
	model, err := classify.Train(set.Examples, classify.TrainOptions{Vocabulary: set.Vocabulary})
	if err != nil {
		return usagef("filter train: %v", err)
	}
	took := time.Since(start)
	data, err := model.MarshalBinary()
	if err != nil {
		return err
	}
	source := usercorpus.FromCorpora
	if fa.mailboxes {
		source = usercorpus.FromMailboxes
		if fromCorpora != [3]int{} {
			source = usercorpus.FromCorporaAndMailboxes
		}
	}
	// The source first: should storing the model fail, the server's
	// retraining takes the old one for an administrator's and keeps it.
	if err := usercorpus.SetSource(ctx, st, source); err != nil {
		return err
	}
	if err := st.PutFilterModel(ctx, 0, data); err != nil {
		return err
	}
	if fa.instance.json {
		return writeJSON(env.Stdout, map[string]any{
			"counts":      countsJSON(counts),
			"thresholds":  map[string]float64{"spam": model.Thresholds.Spam, "phish": model.Thresholds.Phish},
			"model_bytes": len(data),
			"seconds":     took.Seconds(),
			"split":       fa.split,
			"source":      source,
		})
	}
	fmt.Fprintf(env.Stdout, "trained on %d ham, %d spam, %d phishing (split %s; from %s) in %.1fs\n",
		counts[classify.Ham], counts[classify.Spam], counts[classify.Phish], fa.split, source, took.Seconds())
	fmt.Fprintf(env.Stdout, "thresholds: spam %.4f, phish %.4f; model %d bytes stored as the global model\n",
		model.Thresholds.Spam, model.Thresholds.Phish, len(data))
	return nil
}

func countsJSON(counts [3]int) map[string]int {
	out := map[string]int{}
	for c, n := range counts {
		out[classify.Class(c).String()] = n
	}
	return out
}

// evalResult is what filter eval measures.
type evalResult struct {
	SpamRecall   *float64 `json:"spam_recall"`
	HamFPRate    *float64 `json:"ham_fp_rate"`
	PhishRecall  *float64 `json:"phish_recall"`
	PhishAsPhish *float64 `json:"phish_as_phish"`
	// HamWarnRate is the share of ham the whole filter delivers to the
	// inbox with a warning.
	HamWarnRate       *float64                  `json:"ham_warn_rate,omitempty"`
	MessagesPerSecond float64                   `json:"messages_per_second"`
	Confusion         map[string]map[string]int `json:"confusion"`
	Counts            map[string]int            `json:"counts"`
	Split             corpus.Split              `json:"split,omitempty"`
	Thresholds        map[string]float64        `json:"thresholds,omitempty"`
	// ClassifierOnly are the figures of the content classifier alone, at
	// its own thresholds; the others are the whole local filter's.
	ClassifierOnly *evalResult `json:"classifier_only,omitempty"`
}

// filterEval judges every message with the whole local filter (see
// localFilter) and with the stored global model alone, training
// nothing, and prints both figures.
func filterEval(ctx context.Context, env *Env, st store.Store, fa filterArgs) error {
	data, _, err := st.GetFilterModel(ctx, 0)
	if errors.Is(err, store.ErrNotFound) {
		return usagef("filter eval: no model stored: run filter train first")
	}
	if err != nil {
		return err
	}
	model, err := classify.UnmarshalModel(data)
	if err != nil {
		return err
	}
	cfg, err := loadInstanceConfig(fa.instance)
	if err != nil {
		return err
	}
	lf, err := newLocalFilter(cfg, st)
	if err != nil {
		return err
	}
	var conf, onlyConf [3][3]int
	var busy, onlyBusy time.Duration
	var failed error
	hamWarned := 0
	err = forEachMessage(ctx, st, fa, func(m labelled) {
		c, name, raw := m.class, m.name, m.raw
		start := time.Now()
		got := model.Classify(classify.Extract(content.Parse(raw)))
		onlyBusy += time.Since(start)
		onlyConf[c][got]++
		start = time.Now()
		whole, err := lf.judge(ctx, raw)
		busy += time.Since(start)
		if err != nil && failed == nil {
			failed = err
		}
		conf[c][whole]++
		if fa.misjudged && whole != c && err == nil {
			printMisjudged(env.Stderr, name, c, whole, lf.last)
		}
		if c == classify.Ham && lf.warned {
			hamWarned++
		}
	})
	if err != nil {
		return err
	}
	if failed != nil {
		return failed
	}
	r, only := evalFigures(conf, busy), evalFigures(onlyConf, onlyBusy)
	if n := r.Counts["ham"]; n > 0 {
		v := float64(hamWarned) / float64(n)
		r.HamWarnRate = &v
	}
	r.Split = fa.split
	r.Thresholds = map[string]float64{"junk": lf.f.JunkScore, "reject": lf.f.RejectScore}
	only.Thresholds = map[string]float64{"spam": model.Thresholds.Spam, "phish": model.Thresholds.Phish}
	r.ClassifierOnly = &only
	if fa.instance.json {
		return writeJSON(env.Stdout, r)
	}
	printBoth(env.Stdout, r, conf, only, onlyConf)
	return nil
}

// evalFigures computes the figures from a confusion matrix (actual ×
// predicted) and the time spent classifying.
func evalFigures(conf [3][3]int, busy time.Duration) evalResult {
	const ham, spam, phish = classify.Ham, classify.Spam, classify.Phish
	r := evalResult{Confusion: map[string]map[string]int{}, Counts: map[string]int{}}
	total := 0
	for a := range conf {
		row := map[string]int{}
		n := 0
		for p, k := range conf[a] {
			row[classify.Class(p).String()] = k
			n += k
		}
		r.Confusion[classify.Class(a).String()] = row
		r.Counts[classify.Class(a).String()] = n
		total += n
	}
	ratio := func(num, den int) *float64 {
		if den == 0 {
			return nil
		}
		v := float64(num) / float64(den)
		return &v
	}
	// Phishing is caught when it does not reach the inbox: as phish or
	// spam. Ham is a false positive when it is taken for either.
	r.SpamRecall = ratio(conf[spam][spam]+conf[spam][phish], r.Counts["spam"])
	r.HamFPRate = ratio(conf[ham][spam]+conf[ham][phish], r.Counts["ham"])
	r.PhishRecall = ratio(conf[phish][spam]+conf[phish][phish], r.Counts["phish"])
	r.PhishAsPhish = ratio(conf[phish][phish], r.Counts["phish"])
	if busy > 0 {
		r.MessagesPerSecond = float64(total) / busy.Seconds()
	}
	return r
}

func printEval(w io.Writer, r evalResult, conf [3][3]int) {
	pct := func(v *float64) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprintf("%.2f%%", 100**v)
	}
	if r.Split != "" {
		fmt.Fprintf(w, "split %s: %d ham, %d spam, %d phishing\n", r.Split, r.Counts["ham"], r.Counts["spam"], r.Counts["phish"])
	}
	fmt.Fprintf(w, "spam recall      %s\n", pct(r.SpamRecall))
	fmt.Fprintf(w, "ham false pos.   %s (%d)\n", pct(r.HamFPRate), conf[classify.Ham][classify.Spam]+conf[classify.Ham][classify.Phish])
	fmt.Fprintf(w, "phish recall     %s (as phish: %s)\n", pct(r.PhishRecall), pct(r.PhishAsPhish))
	if r.HamWarnRate != nil {
		fmt.Fprintf(w, "ham warned       %s (to the inbox with a warning)\n", pct(r.HamWarnRate))
	}
	fmt.Fprintf(w, "messages/second  %.0f (one goroutine)\n", r.MessagesPerSecond)
	fmt.Fprintf(w, "\nconfusion (rows actual, columns predicted):\n%-8s%8s%8s%8s\n", "", "ham", "spam", "phish")
	for a := range conf {
		fmt.Fprintf(w, "%-8s%8d%8d%8d\n", classify.Class(a), conf[a][0], conf[a][1], conf[a][2])
	}
}

// printMisjudged writes one line for a message the whole filter got
// wrong: where it is, what it is, what the filter said, and the scores
// that counted.
func printMisjudged(w io.Writer, name string, actual, got classify.Class, res filter.Result) {
	fmt.Fprintf(w, "%s: %s judged %s, score %.1f:", name, actual, got, res.Total)
	for _, s := range res.Scores {
		if s.Weight != 0 {
			fmt.Fprintf(w, " %s=%.2f", s.Name, s.Weight)
		}
	}
	fmt.Fprintln(w)
}

// filterStatus tells where the global model came from and when, and what
// the users' mail holds for the next retraining.
func filterStatus(ctx context.Context, env *Env, args []string) error {
	var f instanceFlags
	fs := newFlagSet(env, "filter status", filterUsage)
	f.register(fs, true)
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("filter status: unexpected %q", rest[0])
	}
	cfg, err := loadInstanceConfig(f)
	if err != nil {
		return err
	}
	st, done, err := openStore(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	type modelStatus struct {
		Updated    time.Time          `json:"updated"`
		Source     string             `json:"source,omitempty"`
		Bytes      int                `json:"bytes"`
		Thresholds map[string]float64 `json:"thresholds"`
	}
	var out struct {
		Model     *modelStatus   `json:"model"` // null: none yet
		Mailboxes map[string]int `json:"mailboxes"`
		// Needed are the fewest messages a retraining makes a model
		// from: ham, and spam and phishing together.
		Needed  map[string]int `json:"needed"`
		Retrain string         `json:"retrain"` // [filter] retrain; "0s": never
	}
	data, updated, err := st.GetFilterModel(ctx, 0)
	switch {
	case err == nil:
		m, err := classify.UnmarshalModel(data)
		if err != nil {
			return fmt.Errorf("the stored global model: %w", err)
		}
		src, err := usercorpus.Source(ctx, st)
		if err != nil {
			return err
		}
		out.Model = &modelStatus{Updated: updated.UTC(), Source: src, Bytes: len(data),
			Thresholds: map[string]float64{"spam": m.Thresholds.Spam, "phish": m.Thresholds.Phish}}
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	counts, err := usercorpus.Count(ctx, st, usercorpus.Options{})
	if err != nil {
		return err
	}
	out.Mailboxes = countsJSON(counts)
	out.Needed = map[string]int{"ham": usercorpus.DefaultMinHam, "spam_and_phish": usercorpus.DefaultMinUnwanted}
	out.Retrain = cfg.Filter.Retrain.String()
	if f.json {
		return writeJSON(env.Stdout, out)
	}
	if m := out.Model; m != nil {
		src := m.Source
		if src == "" {
			src = "not recorded"
		}
		fmt.Fprintf(env.Stdout, "global model: trained %s, from %s; %d bytes; thresholds spam %.4f, phish %.4f\n",
			m.Updated.Format(time.RFC3339), src, m.Bytes, m.Thresholds["spam"], m.Thresholds["phish"])
	} else {
		fmt.Fprintln(env.Stdout, "global model: none yet; the content classifier scores nothing")
	}
	fmt.Fprintf(env.Stdout, "users' mail to learn from: %d ham, %d spam, %d phishing (a model needs %d ham and %d spam and phishing)\n",
		counts[classify.Ham], counts[classify.Spam], counts[classify.Phish], usercorpus.DefaultMinHam, usercorpus.DefaultMinUnwanted)
	switch {
	case cfg.Filter.Retrain == 0:
		fmt.Fprintln(env.Stdout, "retraining from the users' mail: off ([filter] retrain = 0)")
	case out.Model != nil && out.Model.Source != usercorpus.FromMailboxes:
		fmt.Fprintln(env.Stdout, "retraining from the users' mail: not over this model, trained from corpora or before its source was recorded (sealpost filter train --mailboxes adds the users' mail)")
	default:
		fmt.Fprintf(env.Stdout, "retraining from the users' mail: every %s\n", out.Retrain)
	}
	return nil
}
