package phish

import (
	_ "embed"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

//go:embed confusables.txt
var confusablesData string

// confusables maps a code point to its prototype; built once from the
// embedded subset of Unicode's confusables.txt and never written after.
var confusables = sync.OnceValue(func() map[rune]string {
	return parseConfusables(confusablesData)
})

// parseConfusables reads lines in the format of confusables.txt:
// "source ; prototype code points ; type # comment". Lines it cannot read
// are skipped: the data is ours and a test checks that every line counts.
func parseConfusables(data string) map[rune]string {
	m := make(map[rune]string)
	for line := range strings.Lines(data) {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.Split(line, ";")
		if len(fields) < 2 {
			continue
		}
		src, ok := parseCodePoints(fields[0])
		if !ok || utf8.RuneCountInString(src) != 1 {
			continue
		}
		proto, ok := parseCodePoints(fields[1])
		if !ok {
			continue
		}
		r, _ := utf8.DecodeRuneInString(src)
		m[r] = proto
	}
	return m
}

func parseCodePoints(s string) (string, bool) {
	var b strings.Builder
	for f := range strings.FieldsSeq(s) {
		n, err := strconv.ParseUint(f, 16, 32)
		if err != nil || n > unicode.MaxRune {
			return "", false
		}
		b.WriteRune(rune(n))
	}
	return b.String(), b.Len() > 0
}

// skeleton returns the UTS #39 §4 skeleton of s (NFD, each code point
// replaced by its prototype, NFD again) of s lower-cased, lower-cased
// again in ASCII: domains and names compare without case, and the table
// maps "0" to "O". Like UTS #39's, it is a fixed point: skeleton of a
// skeleton is itself.
func skeleton(s string) string {
	table := confusables()
	s = norm.NFD.String(strings.ToLower(s))
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if p, ok := table[r]; ok {
			b.WriteString(p)
			continue
		}
		b.WriteRune(r)
	}
	out := norm.NFD.String(b.String())
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, out)
}

// foldName makes display names comparable: NFKC, Unicode case folding,
// quotes dropped, runs of space and punctuation collapsed to one space.
func foldName(s string) string {
	s = cases.Fold().String(norm.NFKC.String(s))
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '@' || r == '.' || r == '-' || r == '_' || r == '+':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
			b.WriteRune(r)
		default:
			space = true
		}
	}
	return strings.Trim(b.String(), ".-")
}

// scriptOf names the script of a letter among those that matter for
// lookalikes; "" for digits, marks, hyphens and other common characters.
func scriptOf(r rune) string {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' {
			return "Latin"
		}
		return ""
	}
	if !unicode.IsLetter(r) {
		return ""
	}
	for _, s := range checkedScripts {
		if unicode.Is(s.table, r) {
			return s.name
		}
	}
	return "Other"
}

var checkedScripts = []struct {
	name  string
	table *unicode.RangeTable
}{
	{"Latin", unicode.Latin}, {"Cyrillic", unicode.Cyrillic}, {"Greek", unicode.Greek},
	{"Armenian", unicode.Armenian}, {"Cherokee", unicode.Cherokee}, {"Georgian", unicode.Georgian},
	{"Han", unicode.Han}, {"Hiragana", unicode.Hiragana}, {"Katakana", unicode.Katakana},
	{"Hangul", unicode.Hangul}, {"Bopomofo", unicode.Bopomofo}, {"Arabic", unicode.Arabic},
	{"Hebrew", unicode.Hebrew}, {"Thai", unicode.Thai}, {"Devanagari", unicode.Devanagari},
}

// mixedScript reports whether a label mixes scripts in a way UTS #39
// §5.2 ("Highly Restrictive") does not allow: one script, or Latin with
// the scripts of Chinese, Japanese or Korean writing.
func mixedScript(label string) (bool, []string) {
	var seen []string
	for _, r := range label {
		s := scriptOf(r)
		if s == "" || contains(seen, s) {
			continue
		}
		seen = append(seen, s)
	}
	if len(seen) < 2 {
		return false, seen
	}
	for _, s := range seen {
		switch s {
		case "Latin", "Han", "Hiragana", "Katakana", "Hangul", "Bopomofo":
		default:
			return true, seen
		}
	}
	// Japanese (Han+Hiragana+Katakana), Chinese (Han+Bopomofo), Korean
	// (Han+Hangul) with Latin are allowed; Hangul with kana is not.
	jp := contains(seen, "Hiragana") || contains(seen, "Katakana")
	return jp && (contains(seen, "Hangul") || contains(seen, "Bopomofo")) ||
		contains(seen, "Hangul") && contains(seen, "Bopomofo"), seen
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// withinOneEdit reports whether a and b are at Damerau–Levenshtein
// distance exactly 1: one insertion, deletion, substitution or
// transposition of adjacent characters. Substituting one digit for
// another does not count: "mail1" and "mail2" are usually siblings.
func withinOneEdit(a, b []rune) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	switch len(a) - len(b) {
	case 0:
		i := 0
		for i < len(a) && a[i] == b[i] {
			i++
		}
		if i == len(a) {
			return false
		}
		if i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && equalRunes(a[i+2:], b[i+2:]) {
			return true
		}
		if unicode.IsDigit(a[i]) && unicode.IsDigit(b[i]) {
			return false
		}
		return equalRunes(a[i+1:], b[i+1:])
	case 1:
		i := 0
		for i < len(b) && a[i] == b[i] {
			i++
		}
		return equalRunes(a[i+1:], b[i:])
	}
	return false
}

func equalRunes(a, b []rune) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
