package filter

import (
	"cmp"
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
)

// Result is the scoring of a message (for one recipient, once the account
// checks ran).
type Result struct {
	Total  float64
	Action Action
	// Scores are the weighted scores, names qualified by their check, in
	// the order of the checks.
	Scores []Score
	// Failed names the checks that failed or ran out of time, with why,
	// for the log ("clamd: connection refused").
	Failed string
}

// top returns the n scores that weigh most, heaviest first.
func (r Result) top(n int) []Score {
	pos := make([]Score, 0, len(r.Scores))
	for _, s := range r.Scores {
		if s.Weight > 0 {
			pos = append(pos, s)
		}
	}
	slices.SortStableFunc(pos, func(a, b Score) int { return cmp.Compare(b.Weight, a.Weight) })
	return pos[:min(n, len(pos))]
}

// warned reports whether a score asks to warn the recipient.
func (r Result) warned() bool {
	for _, s := range r.Scores {
		if s.Warn && s.Weight > 0 {
			return true
		}
	}
	return false
}

// outcome is what one check returned.
type outcome struct {
	check  string
	scores []Score
	err    error
}

// task is one check to run, bound to its input.
type task struct {
	name    string
	network bool
	run     func(ctx context.Context) ([]Score, error)
}

// score runs the message-level checks and decides.
func (f *Filter) score(ctx context.Context, in *Input) Result {
	tasks := make([]task, len(f.Checks))
	for i, c := range f.Checks {
		nc, ok := c.(NetworkCheck)
		tasks[i] = task{name: c.Name(), network: ok && nc.Network(),
			run: func(ctx context.Context) ([]Score, error) { return c.Check(ctx, in) }}
	}
	return f.decide(f.runAll(ctx, in, tasks))
}

// scoreAccount runs the account checks for rcpt and decides on the
// message's scores and theirs.
func (f *Filter) scoreAccount(ctx context.Context, in *Input, msg Result, rcpt Recipient) Result {
	tasks := make([]task, len(f.AccountChecks))
	for i, c := range f.AccountChecks {
		nc, ok := c.(NetworkCheck)
		tasks[i] = task{name: c.Name(), network: ok && nc.Network(),
			run: func(ctx context.Context) ([]Score, error) { return c.CheckAccount(ctx, in, rcpt) }}
	}
	res := f.runAll(ctx, in, tasks)
	res.Scores = append(slices.Clip(msg.Scores), res.Scores...)
	res.Failed = strings.TrimPrefix(msg.Failed+"; "+res.Failed, "; ")
	res.Failed = strings.TrimSuffix(res.Failed, "; ")
	// The message was accepted by now: an account check that fails
	// cannot defer it, whatever OnError says.
	res.Action = Pass
	return f.decide(res)
}

// runAll runs the tasks under the deadline: network ones each in a
// goroutine, the others one after the other in one goroutine. The scores
// come back weighted, in the order of the tasks; a task not done by the
// deadline counts as failed, and is not waited for.
func (f *Filter) runAll(ctx context.Context, in *Input, tasks []task) Result {
	var res Result
	if len(tasks) == 0 {
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	done := make(chan indexed, len(tasks)) // buffered: a late task never blocks
	var local []int
	for i, t := range tasks {
		if !t.network {
			local = append(local, i)
			continue
		}
		go func() { done <- indexed{i, runOne(ctx, t)} }()
	}
	if len(local) > 0 {
		go func() {
			for _, i := range local {
				if err := ctx.Err(); err != nil {
					done <- indexed{i, outcome{check: tasks[i].name, err: fmt.Errorf("not run: %w", err)}}
					continue
				}
				done <- indexed{i, runOne(ctx, tasks[i])}
			}
		}()
	}
	outs := make([]*outcome, len(tasks))
	for n := 0; n < len(tasks); n++ {
		select {
		case d := <-done:
			outs[d.i] = &d.o
		case <-ctx.Done():
			n = len(tasks) // stop waiting
		}
	}
	var failed []string
	for i, o := range outs {
		if o == nil {
			o = &outcome{check: tasks[i].name, err: fmt.Errorf("no answer in %v: %w", f.timeout(), ctx.Err())}
		}
		if o.err != nil {
			failed = append(failed, o.check+": "+o.err.Error())
			if f.OnError[o.check] == Tempfail {
				res.Action = Defer
			}
			f.log().Warn("filter check failed", "id", in.Env.ID, "check", o.check, "err", o.err)
			continue
		}
		for _, s := range o.scores {
			res.Scores = append(res.Scores, f.weigh(o.check, s))
		}
	}
	res.Failed = strings.Join(failed, "; ")
	return res
}

// indexed is the outcome of the i-th task.
type indexed struct {
	i int
	o outcome
}

// runOne runs one check, turning a panic into an error of that check.
func runOne(ctx context.Context, t task) (o outcome) {
	o.check = t.name
	defer func() {
		if p := recover(); p != nil {
			o.scores, o.err = nil, fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	o.scores, o.err = t.run(ctx)
	return o
}

// weigh qualifies a score's name by its check and applies the configured
// weight: the full name's replaces it, else the check's scales it.
func (f *Filter) weigh(check string, s Score) Score {
	if s.Name == "" {
		s.Name = check
	} else {
		s.Name = check + "." + s.Name
	}
	if w, ok := f.Weights[s.Name]; ok {
		s.Weight = w
	} else if k, ok := f.Weights[check]; ok {
		s.Weight *= k
	}
	return s
}

// decide adds up the scores and applies the thresholds; a Defer stays.
func (f *Filter) decide(res Result) Result {
	res.Total = 0
	for _, s := range res.Scores {
		res.Total += s.Weight
	}
	if res.Action == Defer {
		return res
	}
	res.Action = Pass
	switch {
	case f.RejectScore > 0 && res.Total >= f.RejectScore:
		res.Action = Reject
	case f.JunkScore > 0 && res.Total >= f.JunkScore:
		res.Action = Junk
	case f.WarnScore > 0 && res.Total >= f.WarnScore:
		res.Action = Warn
	}
	return res
}
