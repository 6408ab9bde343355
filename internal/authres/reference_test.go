package authres

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The definitions below are Header as it was before keywords were
// checked while written and plain token values appended whole: the
// fuzz target FuzzHeaderReference compares the two.

func referenceHeader(authservID string, results []Result) (string, error) {
	// The field is built in buffers on the stack, so that the string
	// returned is the only allocation unless the field is unusually long
	// (a usual one is 300 to 600 bytes). text holds one cleaned value at a
	// time, before it is quoted or escaped; appendClean cuts values to at
	// most maxValueLen+utf8.UTFMax-1 bytes, so text never grows.
	var outBuf [1024]byte
	var textBuf [maxValueLen + utf8.UTFMax]byte
	text := appendClean(textBuf[:0], authservID, maxValueLen)
	if len(text) == 0 {
		return "", fmt.Errorf("authres: invalid authserv-id %q", authservID)
	}
	for _, r := range results {
		if err := referenceCheckKeywords(r); err != nil {
			return "", err
		}
	}
	out := append(outBuf[:0], FieldName+": "...)
	if isToken(text) {
		out = append(out, text...)
	} else {
		out = appendQuoted(out, text)
	}
	out = append(out, ';')
	if len(results) == 0 {
		out = append(out, " none"...)
	}
	for i, r := range results {
		end := ";"
		if i == len(results)-1 {
			end = ""
		}
		out = referenceAppendResult(out, text, r, end)
	}
	out = append(out, "\r\n"...)
	return string(out), nil
}

func referenceCheckKeywords(r Result) error {
	for _, k := range [...]string{r.Method, r.Value} {
		if !isKeyword(k) {
			return errors.New("authres: " + strconv.Quote(k) + " is not a keyword")
		}
	}
	if strings.Trim(r.Version, "0123456789") != "" {
		return errors.New("authres: invalid method version " + strconv.Quote(r.Version))
	}
	for _, p := range r.Props {
		if !isKeyword(p.Type) || !isKeyword(p.Name) {
			return errors.New("authres: property " + strconv.Quote(p.Type) + "." + strconv.Quote(p.Name) + " is not made of keywords")
		}
	}
	return nil
}

func referenceAppendResult(dst, text []byte, r Result, end string) []byte {
	dst = append(dst, "\r\n\t"...)
	cur := 0 // length of the line after its tab
	left := 1 + len(r.Props)
	if r.Comment != "" {
		left++
	}
	if r.Reason != "" {
		left++
	}
	// begin and finish bracket each word: the space that separates it
	// from the word before, then end after the last word, then the fold.
	var start int
	begin := func() {
		if cur > 0 {
			dst = append(dst, ' ')
		}
		start = len(dst)
	}
	finish := func() {
		if left--; left == 0 {
			dst = append(dst, end...)
		}
		dst, cur = fold(dst, start, cur)
	}

	begin()
	dst = referenceAppendLower(dst, r.Method)
	if r.Version != "" {
		dst = append(dst, '/')
		dst = append(dst, r.Version...)
	}
	dst = append(dst, '=')
	dst = referenceAppendLower(dst, r.Value)
	finish()
	// A text that needs nothing replaced nor cut is written from where
	// it is (clean); any other is cleaned into text first.
	if r.Comment != "" {
		begin()
		dst = append(dst, '(')
		if c, ok := clean(r.Comment, maxCommentLen); ok {
			dst = appendEscaped(dst, c, commentSpecials)
		} else {
			dst = appendEscaped(dst, appendClean(text[:0], r.Comment, maxCommentLen), commentSpecials)
		}
		dst = append(dst, ')')
		finish()
	}
	if r.Reason != "" {
		begin()
		dst = append(dst, "reason="...)
		if c, ok := clean(r.Reason, maxReasonLen); ok {
			dst = appendQuoted(dst, c)
		} else {
			dst = appendQuoted(dst, appendClean(text[:0], r.Reason, maxReasonLen))
		}
		finish()
	}
	for _, p := range r.Props {
		begin()
		dst = referenceAppendLower(dst, p.Type)
		dst = append(dst, '.')
		dst = referenceAppendLower(dst, p.Name)
		dst = append(dst, '=')
		if c, ok := clean(p.Value, maxValueLen); ok {
			dst = appendValue(dst, c)
		} else {
			dst = appendValue(dst, appendClean(text[:0], p.Value, maxValueLen))
		}
		finish()
	}
	return dst
}

func referenceAppendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
