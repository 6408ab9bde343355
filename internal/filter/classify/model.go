package classify

import (
	"errors"
	"math"
	"slices"
	"sort"
	"strconv"
)

// Class is what a message is.
type Class int

// The classes.
const (
	Ham Class = iota
	Spam
	Phish
)

func (c Class) String() string {
	switch c {
	case Ham:
		return "ham"
	case Spam:
		return "spam"
	case Phish:
		return "phish"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// ParseClass reads "ham", "spam" or "phish".
func ParseClass(s string) (Class, error) {
	for _, c := range []Class{Ham, Spam, Phish} {
		if c.String() == s {
			return c, nil
		}
	}
	return 0, errors.New("classify: unknown class " + s)
}

// Scores are the model's estimates for one message, 0..1 each: Spam
// that it is spam rather than ham, Phish that it is phishing rather
// than ham or spam.
type Scores struct{ Spam, Phish float64 }

// Thresholds turn scores into a class: a score >= the threshold is that
// class, Phish first.
type Thresholds struct{ Spam, Phish float64 }

// Classify returns the class scores s mean under t.
func (t Thresholds) Classify(s Scores) Class {
	switch {
	case s.Phish >= t.Phish:
		return Phish
	case s.Spam >= t.Spam:
		return Spam
	}
	return Ham
}

// The heads of the model: each a logistic regression over the same
// features.
const (
	headSpam  = 0 // spam against ham (phishing is left out of its training)
	headPhish = 1 // phishing against ham and spam
	heads     = 2
)

// Model is a trained classifier: two logistic regressions over hashed
// features, and the thresholds chosen for them.
type Model struct {
	Thresholds Thresholds

	bits  uint8
	w     [heads][]float32 // weights by slot
	bias  [heads]float32
	rate  float32           // step of online learning (Learn)
	names map[uint32]string // readable tokens of the slots that weigh most
}

// Contribution is one feature's share of a score.
type Contribution struct {
	Token  string  // readable when known ("" when only a hash)
	Weight float64 // added to the log-odds; > 0 pushes away from ham
}

func newModel(bits uint8) *Model {
	m := &Model{bits: bits, rate: defaultOnlineRate}
	for k := range heads {
		m.w[k] = make([]float32, 1<<bits)
	}
	return m
}

// slot maps a feature to its weight (Fibonacci hashing: the top bits of
// a multiplication mix every bit of the hash).
func slot(f uint64, bits uint8) uint32 {
	return uint32((f * 0x9E3779B97F4A7C15) >> (64 - bits))
}

// scales are the values of a message's present features, by group:
// words of the text, and the rest (senders, links, structure). Each
// group is scaled to unit length, so that long and short messages weigh
// alike and a long text does not drown the few facts about its sender
// and links. norm2 is the squared length of the whole vector: adding
// d/norm2 times each feature's value to its weight moves the log-odds
// by exactly d.
type scales struct {
	by    [groups]float32 // indexed by the feature's group
	norm2 float32
}

func scalesOf(f Features) scales {
	var n [groups]int
	for _, x := range f {
		n[x>>groupShift]++
	}
	var s scales
	for g := range n {
		if n[g] > 0 {
			s.by[g] = float32(1 / math.Sqrt(float64(n[g])))
			s.norm2++
		}
	}
	return s
}

func (s scales) of(x uint64) float32 { return s.by[x>>groupShift] }

// logits returns the two heads' log-odds for f.
func (m *Model) logits(f Features) [heads]float64 {
	var sum [groups][heads]float32
	for _, x := range f {
		s := slot(x, m.bits)
		g := x >> groupShift
		sum[g][headSpam] += m.w[headSpam][s]
		sum[g][headPhish] += m.w[headPhish][s]
	}
	sc := scalesOf(f)
	var z [heads]float64
	for k := range heads {
		t := m.bias[k]
		for g := range groups {
			t += sc.by[g] * sum[g][k]
		}
		z[k] = float64(t)
	}
	return z
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func scoresOf(z [heads]float64) Scores {
	return Scores{Spam: sigmoid(z[headSpam]), Phish: sigmoid(z[headPhish])}
}

// Score returns the scores of a message's features.
func (m *Model) Score(f Features) Scores {
	return scoresOf(m.logits(f))
}

// Classify returns the class of a message's features under the model's
// thresholds.
func (m *Model) Classify(f Features) Class {
	return m.Thresholds.Classify(m.Score(f))
}

// Explain returns the n features of f that weighed most in its higher
// score (spam or phish), heaviest first, with the readable token of each
// that the model names.
func (m *Model) Explain(f Features, n int) []Contribution {
	sc := scalesOf(f)
	z := m.logits(f)
	head := headSpam
	if z[headPhish] > z[headSpam] {
		head = headPhish
	}
	type slotWeight struct {
		slot    uint32
		feature uint64
		w       float64
	}
	seen := map[uint32]bool{}
	var all []slotWeight
	for _, x := range f {
		s := slot(x, m.bits)
		if seen[s] || m.w[head][s] == 0 {
			continue
		}
		seen[s] = true
		all = append(all, slotWeight{s, x, float64(sc.of(x) * m.w[head][s])})
	}
	sort.Slice(all, func(i, j int) bool { return math.Abs(all[i].w) > math.Abs(all[j].w) })
	if len(all) > n {
		all = all[:n]
	}
	out := make([]Contribution, len(all))
	for i, a := range all {
		out[i] = Contribution{Weight: a.w}
		// A slot is shared by every feature that hashes to it: its name
		// is given only to the very feature it was learnt from, never
		// to another that happens to share the slot (the name may be a
		// word of someone else's mail).
		if name, ok := m.names[a.slot]; ok && Hash(name) == a.feature {
			out[i].Token = name
		}
	}
	return out
}

// defaultOnlineRate is the step of Model.Learn and Personal.Learn.
const defaultOnlineRate = 0.5

// Learn updates the model online with one labelled message: a step of
// stochastic gradient descent on each head.
func (m *Model) Learn(f Features, c Class) {
	if len(f) == 0 {
		return
	}
	z := m.logits(f)
	m.step(f, c, z, m.rate)
}

// step moves the weights of f by rate times the gradient of the log
// loss at z, for class c.
func (m *Model) step(f Features, c Class, z [heads]float64, rate float32) {
	g := gradients(c, z)
	sc := scalesOf(f)
	for k := range heads {
		if g[k] == 0 {
			continue
		}
		d := -rate * float32(g[k])
		for _, x := range f {
			m.w[k][slot(x, m.bits)] += d * sc.of(x)
		}
		m.bias[k] -= rate * float32(g[k]) * 0.1
	}
}

// gradients returns the derivative of each head's log loss by its
// log-odds for class c. The spam head does not learn from phishing:
// phishing would pull it towards its own vocabulary (accounts, banks)
// and away from spam's.
func gradients(c Class, z [heads]float64) [heads]float64 {
	var g [heads]float64
	switch c {
	case Ham:
		g[headSpam] = sigmoid(z[headSpam])
		g[headPhish] = sigmoid(z[headPhish])
	case Spam:
		g[headSpam] = sigmoid(z[headSpam]) - 1
		g[headPhish] = sigmoid(z[headPhish])
	case Phish:
		g[headPhish] = sigmoid(z[headPhish]) - 1
	}
	return g
}

// nameTopSlots keeps the readable tokens of the slots with the heaviest
// weights, at most max.
func (m *Model) nameTopSlots(vocab map[uint64]string, max int) {
	if len(vocab) == 0 {
		return
	}
	type named struct {
		slot uint32
		tok  string
		w    float32
	}
	var all []named
	for h, tok := range vocab {
		s := slot(h, m.bits)
		w := max32(abs32(m.w[headSpam][s]), abs32(m.w[headPhish][s]))
		if w > 0 {
			all = append(all, named{s, tok, w})
		}
	}
	slices.SortFunc(all, func(a, b named) int {
		switch {
		case a.w > b.w:
			return -1
		case a.w < b.w:
			return 1
		}
		if a.tok < b.tok {
			return -1
		}
		if a.tok > b.tok {
			return 1
		}
		return 0
	})
	m.names = map[uint32]string{}
	for _, n := range all {
		if len(m.names) >= max {
			break
		}
		if _, ok := m.names[n.slot]; !ok {
			m.names[n.slot] = n.tok
		}
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func max32(a, b float32) float32 {
	if a > b {
		return a
	}
	return b
}
