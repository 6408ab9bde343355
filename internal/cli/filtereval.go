package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"time"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/delivery"
	"sealpost.dev/sealpost/internal/filter"
	"sealpost.dev/sealpost/internal/filter/classify"
	"sealpost.dev/sealpost/internal/instance"
	"sealpost.dev/sealpost/internal/store"
)

// localFilter is the instance's filter as `filter eval` runs it: built
// as the server builds it (instance.Filter: the built-in checks, the
// content classifier over the store's global model, and every other
// local check), turned on whatever the configuration says, with the
// checks that wait on the network (DNS blocklists, the virus scanner)
// left out, no exemption and no banner. It learns nothing: OnVerdict is
// its own, not reputation's.
type localFilter struct {
	f    *filter.Filter
	last filter.Result
	env  delivery.Envelope
	// warned says the last message judged ham got a warn verdict (the
	// inbox with a banner).
	warned bool
}

// evalRecipient is the account messages are judged for: account ID 0
// has no personal model, so the global one alone decides.
const evalRecipient = "eval@eval.invalid"

func newLocalFilter(cfg *config.Config, st store.Store) (*localFilter, error) {
	c := *cfg
	c.Filter.Enabled = true
	f, err := instance.Filter(&c, st, instance.FilterDeps{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	if f.JunkScore <= 0 && f.RejectScore <= 0 {
		return nil, usagef("filter eval: filter.junk_score and filter.reject_score are both 0: nothing would be caught")
	}
	f.Checks = localOnly(f.Checks)
	f.AccountChecks = localOnly(f.AccountChecks)
	f.Accounts = evalAccounts{}
	f.Banner, f.ExemptRecipients, f.ExemptSenders = nil, nil, nil
	lf := &localFilter{f: f, env: delivery.Envelope{ID: "eval", RemoteIP: netip.MustParseAddr("192.0.2.1"),
		Helo: "eval.invalid", Recipients: []delivery.Recipient{{Address: evalRecipient}}}}
	f.OnVerdict = func(_ context.Context, _ *filter.Input, _ string, res filter.Result) { lf.last = res }
	// A collected message arrived when its topmost Received field says,
	// as training reads it, not now.
	f.Arrived = func(in *filter.Input) time.Time { return in.Message.Arrival }
	return lf, nil
}

// localOnly drops the checks that wait on the network.
func localOnly[C interface{ Name() string }](checks []C) []C {
	var out []C
	for _, c := range checks {
		if nc, ok := any(c).(filter.NetworkCheck); ok && nc.Network() {
			continue
		}
		out = append(out, c)
	}
	return out
}

// evalAccounts gives every recipient account ID 0.
type evalAccounts struct{}

func (evalAccounts) GetAccount(_ context.Context, address string) (store.Account, error) {
	return store.Account{Address: address}, nil
}

// rawMessage is a message in memory as delivery.Message.
type rawMessage []byte

func (m rawMessage) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(m)), nil }
func (m rawMessage) Size() int64                  { return int64(len(m)) }

// judge runs the whole local filter on raw and returns its class: ham
// when the message would reach the inbox (passed or warned), else
// phishing when the phishing findings decided it (see phishDecided),
// else spam.
func (lf *localFilter) judge(ctx context.Context, raw []byte) (classify.Class, error) {
	lf.warned = false
	lf.last = filter.Result{}
	env := lf.env
	v, err := lf.f.Check(ctx, &env, rawMessage(raw))
	if err != nil {
		return 0, err
	}
	if v.Action == delivery.Accept && v.ForAccount != nil {
		if _, err := v.ForAccount(ctx, evalRecipient); err != nil {
			return 0, err
		}
	}
	res := lf.last
	switch res.Action {
	case filter.Junk, filter.Reject:
	case filter.Defer:
		return 0, errors.New("filter eval: a check failed: " + res.Failed)
	default:
		lf.warned = res.Action == filter.Warn
		return classify.Ham, nil
	}
	if phishDecided(res, lf.f.JunkScore) {
		return classify.Phish, nil
	}
	return classify.Spam, nil
}

// phishDecided reports whether the Warn scores (the classifier's
// phishing head past its threshold, the phishing findings) decided a
// positive verdict: alone they reach the Junk threshold, or they weigh
// at least as much as all the other positive scores.
func phishDecided(res filter.Result, junk float64) bool {
	var warn, other float64
	for _, s := range res.Scores {
		switch {
		case s.Weight <= 0:
		case s.Warn:
			warn += s.Weight
		default:
			other += s.Weight
		}
	}
	return warn > 0 && (junk > 0 && warn >= junk || warn >= other)
}

// printBoth prints the whole filter's figures, then the classifier's
// alone.
func printBoth(w io.Writer, r evalResult, conf [3][3]int, only evalResult, onlyConf [3][3]int) {
	fmt.Fprintf(w, "whole local filter (every check that needs no network, thresholds of [filter]):\n")
	printEval(w, r, conf)
	fmt.Fprintf(w, "\ncontent classifier alone (the model's thresholds):\n")
	printEval(w, only, onlyConf)
}
