package classify

// Personal is one account's corrections on top of the global model:
// weights added to the global ones for the features the account has
// trained, and a record of each trained message so that it can be taken
// back exactly.
type Personal struct {
	w       map[uint64][heads]float32 // by feature (the full hash: few features, no collisions)
	learned map[uint64]learnedEntry   // by fingerprint of a message's features
}

// learnedEntry is what Learn added for one message: each head's weights
// moved by step times the message's scale, Count times the same message.
type learnedEntry struct {
	Class Class
	Step  [heads]float32
}

// Bounds on a Personal: an account that trains more than this forgets
// its oldest-looking entries (the ones with the smallest weights).
const (
	maxPersonalWeights = 200000
	maxPersonalLearned = 20000
	personalMargin     = 1.0 // log-odds past the threshold Learn aims at
)

// NewPersonal returns an empty per-account model.
func NewPersonal() *Personal {
	return &Personal{w: map[uint64][heads]float32{}, learned: map[uint64]learnedEntry{}}
}

// ScoreWith scores f with the global model and p's corrections; p may be
// nil.
func ScoreWith(global *Model, p *Personal, f Features) Scores {
	return scoresOf(logitsWith(global, p, f))
}

func logitsWith(global *Model, p *Personal, f Features) [heads]float64 {
	z := global.logits(f)
	if p == nil || len(p.w) == 0 {
		return z
	}
	sc := scalesOf(f)
	for _, x := range f {
		if w, ok := p.w[x]; ok {
			v := float64(sc.of(x))
			z[headSpam] += v * float64(w[headSpam])
			z[headPhish] += v * float64(w[headPhish])
		}
	}
	return z
}

// Learn records one user action: the message with features f is of
// class c. The account's weights for f's features move by the least that
// makes the message classify as c with a margin (a passive-aggressive
// step: see scales); messages that share features with it move in
// proportion. The global model is not changed.
func (p *Personal) Learn(global *Model, f Features, c Class) {
	if len(f) == 0 || c < Ham || c > Phish {
		return
	}
	fp := fingerprint(f, c)
	entry := p.learned[fp]
	entry.Class = c
	sc := scalesOf(f)
	d := corrections(global.Thresholds, logitsWith(global, p, f), c)
	for k := range heads {
		if d[k] != 0 {
			entry.Step[k] += float32(d[k])
			p.add(f, k, float32(d[k])/sc.norm2, sc)
		}
	}
	p.learned[fp] = entry
	p.bound()
}

// corrections returns the change of each head's log-odds z needs for
// class c to hold with personalMargin under t: a spam or phish score
// below its threshold for ham, the spam score above and the phish score
// below for spam, the phish score above for phishing.
func corrections(t Thresholds, z [heads]float64, c Class) [heads]float64 {
	spam, phish := logit(t.Spam), logit(t.Phish)
	var d [heads]float64
	atMost := func(k int, limit float64) {
		if z[k] > limit {
			d[k] = limit - z[k]
		}
	}
	atLeast := func(k int, limit float64) {
		if z[k] < limit {
			d[k] = limit - z[k]
		}
	}
	switch c {
	case Ham:
		atMost(headSpam, spam-personalMargin)
		atMost(headPhish, phish-personalMargin)
	case Spam:
		atLeast(headSpam, spam+personalMargin)
		atMost(headPhish, phish-personalMargin)
	case Phish:
		atLeast(headPhish, phish+personalMargin)
	}
	// A head whose threshold is 1 never decides (it saw no example of its
	// class): there is no side of it to aim for, and a step towards
	// logit(1) would swamp every message sharing a feature.
	if t.Spam >= 1 {
		d[headSpam] = 0
	}
	if t.Phish >= 1 {
		d[headPhish] = 0
	}
	return d
}

// Unlearn takes back what Learn(global, f, c) added. A message that was
// never learned (or was forgotten) changes nothing.
func (p *Personal) Unlearn(global *Model, f Features, c Class) {
	fp := fingerprint(f, c)
	entry, ok := p.learned[fp]
	if !ok {
		return
	}
	sc := scalesOf(f)
	for k := range heads {
		p.add(f, k, -entry.Step[k]/sc.norm2, sc)
	}
	delete(p.learned, fp)
}

// add adds d times each feature's value to head k of every feature of
// f, dropping weights that return to zero.
func (p *Personal) add(f Features, k int, d float32, sc scales) {
	if d == 0 {
		return
	}
	for _, x := range f {
		w := p.w[x]
		w[k] += d * sc.of(x)
		if abs32(w[k]) < 1e-6 {
			w[k] = 0
		}
		if w == ([heads]float32{}) {
			delete(p.w, x)
			continue
		}
		p.w[x] = w
	}
}

// bound keeps p within its limits, forgetting the smallest weights and
// arbitrary learned records (which then cannot be unlearned).
func (p *Personal) bound() {
	for fp := range p.learned {
		if len(p.learned) <= maxPersonalLearned {
			break
		}
		delete(p.learned, fp)
	}
	if len(p.w) <= maxPersonalWeights {
		return
	}
	cut := float32(1e-4)
	for len(p.w) > maxPersonalWeights {
		for x, w := range p.w {
			if abs32(w[0]) < cut && abs32(w[1]) < cut {
				delete(p.w, x)
			}
		}
		cut *= 2
	}
}

// fingerprint identifies a message's features and class.
func fingerprint(f Features, c Class) uint64 {
	h := uint64(fnvOffset)
	h ^= uint64(c)
	h *= fnvPrime
	for _, x := range f {
		for i := 0; i < 64; i += 8 {
			h ^= (x >> i) & 0xff
			h *= fnvPrime
		}
	}
	return h
}
