package dmarc

import (
	"fmt"
	"strings"
)

// The conformance cases are YAML. The module has no YAML library and the
// file uses only block mappings, block lists, plain and single-quoted
// scalars (possibly continued on more-indented lines) and null, so this
// reader handles exactly that subset and fails loudly on anything else.

type yamlReader struct {
	lines []string
	i     int
}

func parseYAML(text string) (any, error) {
	r := &yamlReader{}
	for l := range strings.SplitSeq(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if strings.Contains(l, "\t") {
			return nil, fmt.Errorf("yaml: tab in %q", l)
		}
		r.lines = append(r.lines, l)
	}
	if len(r.lines) == 0 {
		return nil, nil
	}
	v, err := r.block(indentOf(r.lines[0]))
	if err == nil && r.i < len(r.lines) {
		err = fmt.Errorf("yaml: unexpected line %q", r.lines[r.i])
	}
	return v, err
}

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

func (r *yamlReader) block(ind int) (any, error) {
	if strings.HasPrefix(r.lines[r.i][ind:], "- ") {
		return r.list(ind)
	}
	return r.mapping(ind)
}

func (r *yamlReader) list(ind int) ([]any, error) {
	var out []any
	for r.i < len(r.lines) && indentOf(r.lines[r.i]) == ind && strings.HasPrefix(r.lines[r.i][ind:], "- ") {
		// "- key: v" is a mapping indented by two more columns.
		r.lines[r.i] = strings.Repeat(" ", ind+2) + r.lines[r.i][ind+2:]
		v, err := r.mapping(ind + 2)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (r *yamlReader) mapping(ind int) (map[string]any, error) {
	out := map[string]any{}
	for r.i < len(r.lines) && indentOf(r.lines[r.i]) == ind && !strings.HasPrefix(r.lines[r.i][ind:], "- ") {
		line := r.lines[r.i][ind:]
		key, rest, ok := strings.Cut(line, ":")
		if !ok || rest != "" && rest[0] != ' ' {
			return nil, fmt.Errorf("yaml: expected key: value, got %q", line)
		}
		r.i++
		rest = strings.TrimSpace(rest)
		if rest == "" {
			if r.i < len(r.lines) && (indentOf(r.lines[r.i]) > ind ||
				indentOf(r.lines[r.i]) == ind && strings.HasPrefix(r.lines[r.i][ind:], "- ")) {
				v, err := r.block(indentOf(r.lines[r.i]))
				if err != nil {
					return nil, err
				}
				out[key] = v
				continue
			}
			out[key] = nil
			continue
		}
		for r.i < len(r.lines) && indentOf(r.lines[r.i]) > ind {
			rest += " " + strings.TrimSpace(r.lines[r.i])
			r.i++
		}
		v, err := yamlScalar(rest)
		if err != nil {
			return nil, err
		}
		out[key] = v
	}
	return out, nil
}

func yamlScalar(s string) (any, error) {
	switch {
	case s == "null" || s == "~":
		return nil, nil
	case strings.HasPrefix(s, "'"):
		if len(s) < 2 || !strings.HasSuffix(s, "'") {
			return nil, fmt.Errorf("yaml: unterminated quoted scalar %q", s)
		}
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), nil
	case strings.HasPrefix(s, `"`), strings.HasPrefix(s, "["), strings.HasPrefix(s, "{"),
		strings.HasPrefix(s, "|"), strings.HasPrefix(s, ">"), strings.HasPrefix(s, "&"), strings.HasPrefix(s, "*"):
		return nil, fmt.Errorf("yaml: unsupported scalar %q", s)
	}
	return s, nil
}
