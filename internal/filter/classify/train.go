package classify

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// Example is one labelled message.
type Example struct {
	Features Features
	Class    Class
}

// TrainOptions tune Train; the zero value gives the defaults.
type TrainOptions struct {
	Bits      int     // log2 of the weight table's size; 0: 20 (1 Mi slots)
	Epochs    int     // passes over the examples; 0: 10
	Rate      float64 // AdaGrad's step; 0: 0.3
	HamWeight float64 // how much more a ham example counts than a phishing one; 0: 12
	// SpamWeight is how much more a spam example counts than a phishing
	// one; 0: the ratio of phishing to spam examples, so that both kinds
	// of unwanted mail weigh alike whatever the corpus holds.
	SpamWeight float64
	Folds      int // cross-validation folds for choosing thresholds; 0: 5
	// Draws is how many cross-validations, each with its own random
	// folds, the thresholds are chosen from: each head takes the highest
	// of their thresholds, so that a ham score tail that one draw of the
	// folds happens to hide still sets the threshold; 0: 3.
	Draws    int
	MaxHamFP float64 // ham false-positive rate the thresholds aim at; 0: 0.001
	// Margin is added to the log-odds of the threshold cross-validation
	// finds, as insurance for mail unlike the training set; 0: 0.75
	// (see the package doc: Measured).
	Margin float64
	Seed   uint64 // of the shuffling; the same examples and seed give the same model
	// Fits is how many fits, each over shuffles of its own, are averaged
	// into the model (and into each model of the cross-validation that
	// chooses the thresholds); 0: 4.
	Fits int
	// Workers bounds the fits of this training that run at once; 0: as
	// many as the process runs at once (GOMAXPROCS, shared by every
	// training). A server that trains beside its mail gives it some of
	// its cores only. The model does not depend on it.
	Workers int
	workers chan struct{} // made by Train from Workers
	// Vocabulary names features (Hash(token) → token) so that Explain
	// can show them; optional.
	Vocabulary map[uint64]string
	// Fixed, when set, are used as the thresholds, without
	// cross-validation.
	Fixed *Thresholds
}

func (o TrainOptions) withDefaults() TrainOptions {
	if o.Bits == 0 {
		o.Bits = 20
	}
	if o.Epochs == 0 {
		o.Epochs = 10
	}
	if o.Rate == 0 {
		o.Rate = 0.3
	}
	if o.HamWeight == 0 {
		o.HamWeight = 12
	}
	if o.Folds == 0 {
		o.Folds = 5
	}
	if o.Draws == 0 {
		o.Draws = 3
	}
	if o.MaxHamFP == 0 {
		o.MaxHamFP = 0.001
	}
	if o.Margin == 0 {
		o.Margin = 0.75
	}
	if o.Fits == 0 {
		o.Fits = 4
	}
	return o
}

// maxNames bounds the readable tokens a model keeps.
const maxNames = 50000

// Train fits a model to examples and chooses its thresholds by
// cross-validation inside them: no other data is looked at.
func Train(examples []Example, opt TrainOptions) (*Model, error) {
	opt = opt.withDefaults()
	if opt.Bits < 10 || opt.Bits > 22 {
		return nil, errors.New("classify: Bits must be within 10..22")
	}
	var counts [3]int
	for _, e := range examples {
		if e.Class < Ham || e.Class > Phish {
			return nil, errors.New("classify: example of unknown class")
		}
		counts[e.Class]++
	}
	if counts[Ham] == 0 || counts[Spam]+counts[Phish] == 0 {
		return nil, errors.New("classify: training needs ham and spam or phishing examples")
	}
	examples = canonicalOrder(examples)
	if opt.Workers > 0 {
		opt.workers = make(chan struct{}, opt.Workers)
	}
	m := fit(examples, opt)
	if opt.Fixed != nil {
		m.Thresholds = *opt.Fixed
	} else {
		m.Thresholds = thresholdsOfDraws(examples, opt)
	}
	// A head that saw no example of its class has learnt only what it is
	// not: its scores say nothing, and it never decides (its scores are
	// under 1). A server learning from its users' reports may have spam
	// and no phishing yet.
	if counts[Spam] == 0 {
		m.Thresholds.Spam = 1
	}
	if counts[Phish] == 0 {
		m.Thresholds.Phish = 1
	}
	m.nameTopSlots(opt.Vocabulary, maxNames)
	return m, nil
}

// canonicalOrder returns a copy of examples sorted by class, then by
// features. Training shuffles its examples and draws its folds from
// the seed, starting from the order it is given: sorted first, the same
// messages make the same model however they were listed (corpora named
// in another order, a directory read in another order).
func canonicalOrder(examples []Example) []Example {
	return slices.SortedFunc(slices.Values(examples), func(a, b Example) int {
		if a.Class != b.Class {
			return int(a.Class) - int(b.Class)
		}
		return slices.Compare(a.Features, b.Features)
	})
}

// fit trains the weights: one fit, or the average of opt.Fits fits over
// shuffles of their own.
func fit(examples []Example, opt TrainOptions) *Model {
	if opt.Fits <= 1 {
		return boundedFit(examples, opt)
	}
	// The fits run side by side (a cross-validation's folds already do,
	// and then wait their turn here) and are summed in order, so that the
	// model is the same whatever ran first.
	fits := make([]*Model, opt.Fits)
	var wg sync.WaitGroup
	for i := range fits {
		wg.Go(func() {
			o := opt
			o.Seed = opt.Seed + uint64(i)*0x51ed
			fits[i] = boundedFit(examples, o)
		})
	}
	wg.Wait()
	m := fits[0]
	for _, one := range fits[1:] {
		for k := range heads {
			for j, w := range one.w[k] {
				m.w[k][j] += w
			}
			m.bias[k] += one.bias[k]
		}
	}
	n := float32(opt.Fits)
	for k := range heads {
		for j := range m.w[k] {
			m.w[k][j] /= n
		}
		m.bias[k] /= n
	}
	return m
}

// fitSlots bounds the fits that run at once, in all the process: each
// holds two weight tables and their sums of squares (16 MiB at 20 bits),
// and the folds of a cross-validation each make several.
var fitSlots = make(chan struct{}, runtime.GOMAXPROCS(0))

// boundedFit is fitOnce once a slot of the training's own (Workers) and
// one of the process's are free, taken in that order.
func boundedFit(examples []Example, opt TrainOptions) *Model {
	if opt.workers != nil {
		opt.workers <- struct{}{}
		defer func() { <-opt.workers }()
	}
	fitSlots <- struct{}{}
	defer func() { <-fitSlots }()
	return fitOnce(examples, opt)
}

// fitOnce trains the weights with AdaGrad, epoch by epoch over a shuffled
// order.
func fitOnce(examples []Example, opt TrainOptions) *Model {
	if opt.SpamWeight == 0 {
		var counts [3]int
		for _, e := range examples {
			counts[e.Class]++
		}
		opt.SpamWeight = 1
		if counts[Spam] > 0 && counts[Phish] > counts[Spam] {
			opt.SpamWeight = float64(counts[Phish]) / float64(counts[Spam])
		}
	}
	m := newModel(uint8(opt.Bits))
	var sq [heads][]float32 // AdaGrad's sums of squared gradients
	for k := range heads {
		sq[k] = make([]float32, 1<<opt.Bits)
	}
	var biasSq [heads]float64
	order := make([]int, len(examples))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5ea1))
	rate := float32(opt.Rate)
	slots := make([]uint32, 0, 4096)
	for range opt.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			e := examples[i]
			if len(e.Features) == 0 {
				continue
			}
			slots = slots[:0]
			for _, x := range e.Features {
				slots = append(slots, slot(x, m.bits))
			}
			z := m.logits(e.Features)
			g := gradients(e.Class, z)
			weight := 1.0
			switch e.Class {
			case Ham:
				weight = opt.HamWeight
			case Spam:
				weight = opt.SpamWeight
			}
			sc := scalesOf(e.Features)
			for k := range heads {
				if g[k] == 0 {
					continue
				}
				gk := float32(g[k] * weight)
				w, s := m.w[k], sq[k]
				for i, j := range slots {
					gj := gk * sc.of(e.Features[i])
					s[j] += gj * gj
					if s[j] > 0 {
						w[j] -= rate * gj / float32(math.Sqrt(float64(s[j])))
					}
				}
				gb := g[k] * weight
				biasSq[k] += gb * gb
				if biasSq[k] > 0 {
					m.bias[k] -= float32(opt.Rate * gb / math.Sqrt(biasSq[k]))
				}
			}
		}
	}
	return m
}

// scored is an example's class and its out-of-fold scores.
type scored struct {
	class  Class
	scores Scores
}

// crossValidate scores every example with a model trained on the other
// folds. Folds are drawn at random (from opt.Seed), so that the order of
// the examples (class by class, say) does not matter.
func crossValidate(examples []Example, opt TrainOptions) []scored {
	folds := max(opt.Folds, 2)
	fold := rand.New(rand.NewPCG(opt.Seed, 0xf01d)).Perm(len(examples))
	for i := range fold {
		fold[i] %= folds
	}
	out := make([]scored, len(examples))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for k := range folds {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var train []Example
			for i, e := range examples {
				if fold[i] != k {
					train = append(train, e)
				}
			}
			m := fit(train, opt)
			for i, e := range examples {
				if fold[i] == k {
					out[i] = scored{e.Class, m.Score(e.Features)}
				}
			}
		})
	}
	wg.Wait()
	return out
}

// thresholdsOfDraws cross-validates opt.Draws times, each with folds
// drawn from its own seed, and keeps each head's highest threshold.
func thresholdsOfDraws(examples []Example, opt TrainOptions) Thresholds {
	var th Thresholds
	for d := range max(opt.Draws, 1) {
		o := opt
		o.Seed = opt.Seed + uint64(d)*0x9e37
		t := chooseThresholds(crossValidate(examples, o), o)
		th.Spam = math.Max(th.Spam, t.Spam)
		th.Phish = math.Max(th.Phish, t.Phish)
	}
	return th
}

// chooseThresholds picks, for each head, the threshold that keeps
// out-of-fold ham false positives within MaxHamFP, moved up by Margin in
// log-odds as insurance for mail unlike the training set. The two heads
// share the allowance (a ham message flagged by either is a false
// positive): the spam head gets the larger half.
func chooseThresholds(s []scored, opt TrainOptions) Thresholds {
	var spam, phish []float64
	for _, x := range s {
		if x.class == Ham {
			spam = append(spam, x.scores.Spam)
			phish = append(phish, x.scores.Phish)
		}
	}
	allowed := int(opt.MaxHamFP * float64(len(spam)))
	phishAllowed := allowed / 2
	return Thresholds{
		Spam:  max(minSpamThreshold, sigmoid(logit(edge(spam, allowed-phishAllowed))+opt.Margin)),
		Phish: max(minPhishThreshold, sigmoid(logit(edge(phish, phishAllowed))+opt.Margin)),
	}
}

// The lowest thresholds chosen. A model trained on few or easily told
// examples scores its held-out ham near 0, and a threshold just above
// them would call spam any new mail a little unlike them (a server's
// first model, made from a few hundred of its users' messages, is such a
// one). On the corpora, eight seeds chose spam thresholds of 0.66 to 0.78
// and phishing thresholds of 0.27 to 0.38 (the phishing head learns
// against ham and spam both, and scores lower): the floors are under
// those, so that they bind only where the data are too few to say.
const (
	minSpamThreshold  = 0.5
	minPhishThreshold = 0.2
)

// edge returns the (allowed+1)-th highest of scores: a threshold just
// above it lets allowed of them through.
func edge(scores []float64, allowed int) float64 {
	slices.Sort(scores)
	slices.Reverse(scores)
	if allowed < len(scores) {
		return scores[allowed]
	}
	return 0
}

func logit(p float64) float64 {
	p = math.Min(math.Max(p, 1e-12), 1-1e-12)
	return math.Log(p / (1 - p))
}
