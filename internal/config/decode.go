package config

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"time"
)

// decoder moves the parsed TOML tree into a Config, collecting every
// problem as an *Error with its key and line.
type decoder struct {
	file  string
	lines lineIndex
	errs  []*Error
	skip  map[string]bool // keys not to report again
}

func (d *decoder) fail(key, format string, args ...any) {
	if d.skip[key] {
		return
	}
	d.errs = append(d.errs, errorf(d.file, d.lines.lineOf(key), key, format, args...))
}

// tomlName returns the key a struct field is read from.
func tomlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return name
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// table decodes the TOML table m into the struct v.
func (d *decoder) table(v reflect.Value, m map[string]any, prefix string) {
	fields := map[string]int{}
	names := make([]string, 0, v.NumField())
	for i := range v.NumField() {
		name := tomlName(v.Type().Field(i))
		fields[name] = i
		names = append(names, name)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		li, lj := d.lines.lineOf(join(prefix, keyPart(keys[i]))), d.lines.lineOf(join(prefix, keyPart(keys[j])))
		return li < lj || li == lj && keys[i] < keys[j]
	})
	for _, k := range keys {
		path := join(prefix, keyPart(k))
		i, ok := fields[k]
		if !ok {
			d.fail(path, "unknown key%s", suggest(k, names))
			continue
		}
		d.value(v.Field(i), m[k], path)
	}
}

// value decodes one TOML value into the field f.
func (d *decoder) value(f reflect.Value, raw any, path string) {
	switch p := f.Addr().Interface().(type) {
	case *Duration:
		s, ok := raw.(string)
		if !ok {
			d.fail(path, "must be a duration string such as \"10m\", not %s", typeName(raw))
			return
		}
		if err := p.UnmarshalText([]byte(s)); err != nil {
			d.fail(path, "%v", err)
		}
	case *Size:
		switch v := raw.(type) {
		case int64:
			if v < 0 {
				d.fail(path, "must not be negative")
				return
			}
			*p = Size(v)
		case string:
			if err := p.UnmarshalText([]byte(v)); err != nil {
				d.fail(path, "%v", err)
			}
		default:
			d.fail(path, "must be a size such as \"50MiB\" or a number of bytes, not %s", typeName(raw))
		}
	case *Secret:
		if s, ok := d.str(raw, path); ok {
			*p = Secret(s)
		}
	case *string:
		if s, ok := d.str(raw, path); ok {
			*p = s
		}
	case *bool:
		b, ok := raw.(bool)
		if !ok {
			d.fail(path, "must be true or false, not %s", typeName(raw))
			return
		}
		*p = b
	case *int:
		n, ok := raw.(int64)
		if !ok {
			d.fail(path, "must be an integer, not %s", typeName(raw))
			return
		}
		if int64(int(n)) != n {
			d.fail(path, "integer %d out of range", n)
			return
		}
		*p = int(n)
	case *float64:
		switch v := raw.(type) {
		case int64:
			*p = float64(v)
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				d.fail(path, "must be a finite number")
				return
			}
			*p = v
		default:
			d.fail(path, "must be a number, not %s", typeName(raw))
		}
	case *[]string:
		d.strings(p, raw, path)
	default:
		m, ok := raw.(map[string]any)
		if f.Kind() != reflect.Struct || !ok {
			d.fail(path, "must be a table, not %s", typeName(raw))
			return
		}
		d.table(f, m, path)
	}
}

func (d *decoder) str(raw any, path string) (string, bool) {
	s, ok := raw.(string)
	if ok {
		return s, true
	}
	switch raw.(type) {
	case int64, float64, bool:
		d.fail(path, "must be a string, not %s (put the value in quotes)", typeName(raw))
	default:
		d.fail(path, "must be a string, not %s", typeName(raw))
	}
	return "", false
}

func (d *decoder) strings(p *[]string, raw any, path string) {
	arr, ok := raw.([]any)
	if !ok {
		if _, isMaps := raw.([]map[string]any); isMaps {
			d.fail(path, "must be an array of strings, not an array of tables")
			return
		}
		d.fail(path, "must be an array of strings, not %s", typeName(raw))
		return
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			d.fail(path, "must be an array of strings; element %d is %s", i+1, typeName(e))
			return
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		out = nil
	}
	*p = out
}

// typeName names the TOML type of a decoded value, with an article.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date-time"
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}

// suggest returns ` (did you mean "x"?)` when one known key is within two
// edits of the unknown key k.
func suggest(k string, known []string) string {
	best, bestDist := "", 3
	for _, n := range known {
		if dist := editDistance(k, n, bestDist); dist < bestDist {
			best, bestDist = n, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b, or limit if it
// is at least limit. Long inputs are not compared at all.
func editDistance(a, b string, limit int) int {
	if len(a) > 64 || len(b) > 64 {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}
