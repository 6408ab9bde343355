package classify

import (
	"strings"

	"sealpost.dev/sealpost/internal/filter/content"
)

// Set gathers labelled messages for Train: their features, how many of
// each class, and the readable tokens that let the model's Explain name
// the words behind a score.
type Set struct {
	Examples   []Example
	Counts     [3]int // by Class
	Vocabulary map[uint64]string
}

// maxVocabulary bounds the readable tokens a Set keeps; word pairs are
// left out (their words explain them).
const maxVocabulary = 500000

// Add adds the parsed message m as an example of class c.
func (s *Set) Add(m *content.Message, c Class) {
	if s.Vocabulary == nil {
		s.Vocabulary = map[uint64]string{}
	}
	for _, tok := range Tokens(m) {
		if len(s.Vocabulary) < maxVocabulary && !isPairToken(tok) {
			s.Vocabulary[Hash(tok)] = tok
		}
	}
	s.AddUnnamed(m, c)
}

// AddUnnamed adds m as Add does, its tokens left out of the vocabulary:
// for mail whose words the model must never name (Explain) to anyone.
func (s *Set) AddUnnamed(m *content.Message, c Class) {
	s.Examples = append(s.Examples, Example{Features: Extract(m), Class: c})
	s.Counts[c]++
}

// isPairToken reports whether tok is a word pair (subject bigram or
// sparse body bigram).
func isPairToken(tok string) bool {
	return len(tok) > 3 && (tok[0] == 'o' && tok[2] == ':' || strings.HasPrefix(tok, "s2:"))
}
