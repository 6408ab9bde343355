package config

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Reference returns the Markdown reference of every key, generated from
// the schema: docs/config.md.
func Reference() []byte {
	var b bytes.Buffer
	b.WriteString(referenceIntro)
	v := reflect.ValueOf(Default()).Elem()
	t := v.Type()
	b.WriteString("\n## Top-level keys\n\n")
	keyTable(&b, v, func(f reflect.StructField) bool { return f.Type.Kind() != reflect.Struct })
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type.Kind() != reflect.Struct {
			continue
		}
		fmt.Fprintf(&b, "\n## [%s]\n\n%s\n\n", tomlName(f), f.Tag.Get("doc"))
		keyTable(&b, v.Field(i), func(reflect.StructField) bool { return true })
	}
	return b.Bytes()
}

const referenceIntro = `# Sealpost configuration

<!-- Generated from internal/config by "go generate ./internal/config". Do not edit. -->

Sealpost reads one [TOML](https://toml.io/) file, named with ` + "`sealpost serve -config FILE`" + `.
` + "`sealpost config check FILE`" + ` validates a file without starting the server.
[sealpost.toml.example](sealpost.toml.example) lists every key with a comment.

Every key is optional unless marked *required*; a key left out takes the
default shown, and every default is the secure choice. A key that Sealpost does
not know is an error, so a misspelt key never silently falls back to its
default. Errors name the file, line and key, for example:

    sealpost.toml:12: listeners.smtp: invalid address "x": missing port in address

and make ` + "`sealpost serve`" + ` and ` + "`sealpost config check`" + ` exit with status 2.

Value types:

- **duration**: a string in Go's syntax, a number with a unit: ` + "`\"90s\"`, `\"10m\"`, `\"4h\"`, `\"1h30m\"`" + `.
- **size**: a number of bytes, either a plain integer or a string with a binary
  unit: ` + "`\"512B\"`, `\"64KiB\"`, `\"50MiB\"`, `\"2GiB\"`" + `. Decimal units (MB) are refused.
- **address**: ` + "`host:port`" + `, where host is an IP address (` + "`[::1]`" + ` for IPv6) or, for
  listeners, empty for all addresses.
- **secret**: a string that Sealpost never prints or logs; its password part is
  shown as REDACTED.

Relative paths are taken relative to the directory of the configuration file.
`

func keyTable(b *bytes.Buffer, v reflect.Value, include func(reflect.StructField) bool) {
	b.WriteString("| Key | Type | Default | Meaning |\n| --- | --- | --- | --- |\n")
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !include(f) {
			continue
		}
		def := "`" + tomlValue(v.Field(i)) + "`"
		if f.Tag.Get("required") == "true" {
			def = "*required*"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", tomlName(f), typeDoc(f.Type), def, f.Tag.Get("doc"))
	}
}

func typeDoc(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Duration]():
		return "duration"
	case reflect.TypeFor[Size]():
		return "size"
	case reflect.TypeFor[Secret]():
		return "secret"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Slice:
		return "array of strings"
	}
	return "string"
}

// Sample returns an example configuration file with every key, its
// documentation as comments, and its default or example value:
// docs/sealpost.toml.example.
func Sample() []byte {
	var b bytes.Buffer
	b.WriteString(`# Sealpost configuration.
#
# Every key is shown with its default value, except where a default cannot
# fit a real server (hostname, data_dir, domains, certificate files). The
# reference is docs/config.md. Check a file with: sealpost config check FILE
`)
	writeTOML(&b, reflect.ValueOf(Default()).Elem(), true)
	return b.Bytes()
}

// writeTOML writes the struct v, top-level keys first and then one table
// per nested struct. A sample has comments and example values.
func writeTOML(b *bytes.Buffer, v reflect.Value, sample bool) {
	t := v.Type()
	for i := range t.NumField() {
		if t.Field(i).Type.Kind() != reflect.Struct {
			writeKey(b, t.Field(i), v.Field(i), sample)
		}
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type.Kind() != reflect.Struct {
			continue
		}
		b.WriteByte('\n')
		if sample {
			comment(b, f.Tag.Get("doc"))
		}
		fmt.Fprintf(b, "[%s]\n", tomlName(f))
		for j := range f.Type.NumField() {
			writeKey(b, f.Type.Field(j), v.Field(i).Field(j), sample)
		}
	}
}

func writeKey(b *bytes.Buffer, f reflect.StructField, v reflect.Value, sample bool) {
	val := tomlValue(v)
	if sample {
		b.WriteByte('\n')
		comment(b, f.Tag.Get("doc"))
		if ex, ok := f.Tag.Lookup("example"); ok {
			val = QuoteString(ex)
			if v.Kind() == reflect.Slice {
				val = "[" + val + "]"
			}
		}
	}
	fmt.Fprintf(b, "%s = %s\n", tomlName(f), val)
}

// comment writes text as "# " lines of at most 78 columns.
func comment(b *bytes.Buffer, text string) {
	line := "#"
	for _, w := range strings.Fields(text) {
		if len(line)+1+len(w) > 78 && line != "#" {
			b.WriteString(line + "\n")
			line = "#"
		}
		line += " " + w
	}
	b.WriteString(line + "\n")
}

// tomlValue formats a field's value as TOML; secrets are redacted.
func tomlValue(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case Duration, Size, Secret:
		return QuoteString(fmt.Sprint(x))
	case string:
		return QuoteString(x)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = QuoteString(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	panic(fmt.Sprintf("config: no TOML form for %s", v.Type()))
}

// QuoteString writes s as a TOML basic string, for code that writes
// config files.
func QuoteString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == utf8.RuneError:
			b.WriteString(`\uFFFD`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
