package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files, generated docs and the fuzz seed corpus")

// checkGolden compares got with the file at path, or rewrites it under -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date (run go test -update and review the diff)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

// TestBadConfigs parses each testdata/bad/*.toml and compares the error
// text with the .err file beside it. Each case explains itself in its
// first comment lines.
func TestBadConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.toml")
	if len(files) < 20 {
		t.Fatalf("found only %d cases", len(files))
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".toml"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(data, name)
			if err == nil {
				t.Fatalf("parsed without error: %+v", c)
			}
			if c != nil {
				t.Errorf("returned a config along with the error")
			}
			for _, e := range allErrors(t, err) {
				if e.File != name || (e.Line == 0 && e.Key == "") {
					t.Errorf("error without file, line or key: %#v", e)
				}
				if strings.Contains(e.Error(), "hunter2") {
					t.Errorf("error shows the password: %v", e)
				}
			}
			checkGolden(t, strings.TrimSuffix(path, ".toml")+".err", []byte(err.Error()+"\n"))
		})
	}
}

// allErrors returns every *Error in err and fails if err holds anything else.
func allErrors(t testing.TB, err error) []*Error {
	t.Helper()
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	out := make([]*Error, 0, len(errs))
	for _, e := range errs {
		ce, ok := e.(*Error)
		if !ok {
			t.Fatalf("error %v is %T, not *Error", e, e)
		}
		out = append(out, ce)
	}
	return out
}

// TestGoodConfigs parses each testdata/good/*.toml and compares the
// effective configuration, as written by WriteTOML, with the .golden file.
func TestGoodConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/good/*.toml")
	if len(files) < 3 {
		t.Fatalf("found only %d cases", len(files))
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".toml"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(data, filepath.Base(path))
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := c.WriteTOML(&b); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), "hunter2") {
				t.Errorf("WriteTOML shows the password:\n%s", b.String())
			}
			checkGolden(t, strings.TrimSuffix(path, ".toml")+".golden", b.Bytes())

			// The output parses back to the same configuration, secrets aside.
			c2, err := Parse(b.Bytes(), "out.toml")
			if err != nil {
				t.Fatalf("WriteTOML output does not parse: %v", err)
			}
			c2.Storage.PostgresDSN = c.Storage.PostgresDSN
			if !reflect.DeepEqual(c, c2) {
				t.Errorf("round trip changed the config:\n%+v\n%+v", c, c2)
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	data, err := os.ReadFile("testdata/good/files.toml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(data, filepath.Join("etc", "sealpost", "sealpost.toml"))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"hostname", c.Hostname, "mx1.example.org"},
		{"data_dir resolved", c.DataDir, filepath.Join("etc", "sealpost", "data")},
		{"cert_file resolved", c.TLS.CertFile, filepath.Join("etc", "sealpost", "tls", "fullchain.pem")},
		{"key_file absolute", c.TLS.KeyFile, "/etc/sealpost/privkey.pem"},
		{"domains lower-cased", c.Domains, []string{"example.org", "example.net"}},
		{"size from integer", c.Limits.MaxMessageSize, 25 * MiB},
		{"duration", time.Duration(c.Limits.SessionTimeout), 90 * time.Minute},
		{"disabled listener", c.Listeners.Submission, ""},
		{"default listener kept", c.Listeners.IMAPS, ":993"},
		{"default limit kept", c.Limits.MaxLineLength, 4096},
		{"bool", c.Queue.Deliver, false},
		{"slog level", c.Log.SlogLevel(), slog.LevelDebug},
		{"tls version", c.TLS.Version(), uint16(0x0304)},
		{"argon2 KiB", c.Passwords.Argon2MemoryKiB(), uint32(128 * 1024)},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sealpost.toml")
	body := "hostname = \"mail.example.com\"\ndata_dir = \"state\"\n\n[tls]\nmode = \"self-signed\"\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "state"); c.DataDir != want {
		t.Errorf("DataDir = %q, want %q", c.DataDir, want)
	}

	if err := os.WriteFile(path, []byte(body+"[listeners]\nsmtp = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	var ce *Error
	if !errors.As(err, &ce) || ce.File != path || ce.Line != 7 || ce.Key != "listeners.smtp" {
		t.Errorf("Load error = %#v", err)
	}
	want := path + `:7: listeners.smtp: invalid address "x": missing port in address`
	if err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %s", err, want)
	}

	_, err = Load(filepath.Join(dir, "missing.toml"))
	if !errors.As(err, &ce) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file = %#v", err)
	}

	big := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("#\n"), maxFileSize), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load of an oversized file = %v", err)
	}
}

func TestErrorFormat(t *testing.T) {
	cases := []struct {
		e    Error
		want string
	}{
		{Error{File: "a.toml", Line: 3, Key: "log.level", Msg: "bad"}, "a.toml:3: log.level: bad"},
		{Error{File: "a.toml", Key: "hostname", Msg: "required"}, "a.toml: hostname: required"},
		{Error{File: "a.toml", Line: 2, Msg: "syntax"}, "a.toml:2: syntax"},
		{Error{Line: 2, Key: "k", Msg: "m"}, "line 2: k: m"},
		{Error{Key: "k", Msg: "m"}, "k: m"},
	}
	for _, c := range cases {
		if got := c.e.Error(); got != c.want {
			t.Errorf("%#v.Error() = %q, want %q", c.e, got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	c := Default()
	if err := c.Validate(); err == nil {
		t.Fatal("Default() validates without hostname and data_dir")
	}
	c.Hostname = "MAIL.example.test"
	c.DataDir = "/tmp/x"
	c.TLS.Mode = TLSModeSelfSigned
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if c.Hostname != "mail.example.test" {
		t.Errorf("Hostname not lower-cased: %q", c.Hostname)
	}
	c.Listeners.Admin = ":8025"
	err := c.Validate()
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "listeners.admin" || ce.Line != 0 {
		t.Errorf("Validate with a public admin listener = %v", err)
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	for _, dsn := range []string{
		"postgres://sealpost:hunter2@db.example.com/mail",
		"postgresql://sealpost@db.example.com/mail?password=hunter2&sslmode=verify-full",
		"host=db.example.com password=hunter2 dbname=mail",
		"host=db.example.com password = 'hunter2 has spaces' sslpassword=hunter2",
		"postgres://sealpost:hunter2@[bad",
		"hunter2",
	} {
		c := Default()
		c.Storage = Storage{Backend: BackendPostgres, PostgresDSN: Secret(dsn)}
		var outs []string
		for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			outs = append(outs, fmt.Sprintf(f, c), fmt.Sprintf(f, *c), fmt.Sprintf(f, c.Storage.PostgresDSN))
		}
		j, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, string(j))
		var logs bytes.Buffer
		slog.New(slog.NewTextHandler(&logs, nil)).Info("cfg", "config", c, "dsn", c.Storage.PostgresDSN)
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("cfg", "config", c, "dsn", c.Storage.PostgresDSN)
		outs = append(outs, logs.String())
		var b bytes.Buffer
		if err := c.WriteTOML(&b); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b.String())
		for _, o := range outs {
			if strings.Contains(o, "hunter2") {
				t.Errorf("DSN %q: password shown in %s", dsn, o)
			}
			if !strings.Contains(o, "REDACTED") {
				t.Errorf("DSN %q: no REDACTED marker in %s", dsn, o)
			}
		}
		if string(c.Storage.PostgresDSN) != dsn {
			t.Errorf("the value itself changed: %q", string(c.Storage.PostgresDSN))
		}
	}
	if got := Secret("postgres://u:p@db.example.com:5432/mail").String(); got != "postgres://u:REDACTED@db.example.com:5432/mail" {
		t.Errorf("redacted URL = %q; want the host and database kept", got)
	}
	if got := Secret("").String(); got != "" {
		t.Errorf("empty secret prints as %q", got)
	}
}

func TestSize(t *testing.T) {
	cases := []struct {
		in   string
		want Size
		str  string
		err  string
	}{
		{"0", 0, "0", ""},
		{"1024", KiB, "1KiB", ""},
		{"1000", 1000, "1000B", ""},
		{"512B", 512, "512B", ""},
		{"64KiB", 64 * KiB, "64KiB", ""},
		{"50 MiB", 50 * MiB, "50MiB", ""},
		{"2GiB", 2 * GiB, "2GiB", ""},
		{"1536MiB", 1536 * MiB, "1536MiB", ""},
		{"50MB", 0, "", `invalid size "50MB": unknown unit "MB": use B, KiB, MiB or GiB`},
		{"1.5GiB", 0, "", `invalid size "1.5GiB": unknown unit ".5GiB": use B, KiB, MiB or GiB`},
		{"-1", 0, "", `invalid size "-1": write a whole number of bytes, optionally with a unit: B, KiB, MiB or GiB`},
		{"", 0, "", `invalid size "": write a whole number of bytes, optionally with a unit: B, KiB, MiB or GiB`},
		{"9223372036854775807GiB", 0, "", `invalid size "9223372036854775807GiB": number too large`},
		{"99999999999999999999", 0, "", `invalid size "99999999999999999999": number too large`},
	}
	for _, c := range cases {
		var s Size
		err := s.UnmarshalText([]byte(c.in))
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("Size(%q): error %v, want %s", c.in, err, c.err)
			}
			continue
		}
		if err != nil || s != c.want || s.String() != c.str {
			t.Errorf("Size(%q) = %d %q, %v; want %d %q", c.in, s, s, err, c.want, c.str)
		}
	}
}

func TestDuration(t *testing.T) {
	cases := []struct {
		in  string
		str string
		ok  bool
	}{
		{"10m", "10m", true},
		{"120h", "120h", true},
		{"1h30m", "1h30m", true},
		{"90s", "1m30s", true},
		{"1.5s", "1.5s", true},
		{"0s", "0s", true},
		{"600", "", false},
		{"10 minutes", "", false},
	}
	for _, c := range cases {
		var d Duration
		err := d.UnmarshalText([]byte(c.in))
		if (err == nil) != c.ok || (c.ok && d.String() != c.str) {
			t.Errorf("Duration(%q) = %q, %v", c.in, d, err)
		}
	}
}

// TestIndexLines checks the key locator on the TOML constructs that could
// throw its line count off.
func TestIndexLines(t *testing.T) {
	doc := `# comment [not.a.table]
a = 1 # x = 2
"quoted key" = 'v'
s = """
b = not a key
"""
l = '''
c = not a key'''
arr = [
  1, # d = 3
  { e = 4 },
]
dotted . key = true
t = { x = 1, y.z = "}" }

[tab]
k = "\"[other]"
[ tab2 . "q.x" ]
m = 1
[[arr2]]
n = 1
`
	want := map[string]int{
		"a": 2, `"quoted key"`: 3, "s": 4, "l": 7, "arr": 9, "arr.e": 11,
		"dotted": 13, "dotted.key": 13, "t": 14, "t.x": 14, "t.y.z": 14,
		"tab": 16, "tab.k": 17, "tab2": 18, `tab2."q.x"`: 18, `tab2."q.x".m`: 19,
		"arr2": 20, "arr2.n": 21,
	}
	got := indexLines([]byte(doc))
	for k, l := range want {
		if got[k] != l {
			t.Errorf("line of %q = %d, want %d", k, got[k], l)
		}
	}
	for _, k := range []string{"b", "c", "d", "x", "other", "not"} {
		if _, ok := got[k]; ok {
			t.Errorf("found key %q inside a string or comment", k)
		}
	}
	if l := got.lineOf("tab.missing"); l != 16 {
		t.Errorf("lineOf(tab.missing) = %d, want the table's line 16", l)
	}
	if l := got.lineOf("nowhere.x"); l != 0 {
		t.Errorf("lineOf(nowhere.x) = %d, want 0", l)
	}
}

// TestGenerated keeps docs/config.md and docs/sealpost.toml.example in step
// with the schema; run go generate (or go test -update) after changing it.
func TestGenerated(t *testing.T) {
	ref := Reference()
	sample := Sample()
	checkGolden(t, "../../docs/config.md", ref)
	checkGolden(t, "../../docs/sealpost.toml.example", sample)

	c, err := Parse(sample, "sealpost.toml.example")
	if err != nil {
		t.Fatalf("the example does not parse: %v", err)
	}
	if c.Hostname == "" || len(c.Domains) == 0 {
		t.Errorf("the example lacks example values: %+v", c)
	}
	lines := indexLines(sample)
	for _, key := range schemaKeys(reflect.TypeFor[Config](), "") {
		if lines[key] == 0 {
			t.Errorf("the example does not set %s", key)
		}
		table, name, ok := strings.Cut(key, ".")
		if !ok {
			table, name = "Top-level keys", key
		} else {
			table = "[" + table + "]"
		}
		if !strings.Contains(sectionOf(string(ref), table), "| `"+name+"` |") {
			t.Errorf("docs/config.md does not document %s in its %s section", key, table)
		}
	}
}

func sectionOf(doc, heading string) string {
	_, rest, _ := strings.Cut(doc, "\n## "+heading+"\n")
	sec, _, _ := strings.Cut(rest, "\n## ")
	return sec
}

func schemaKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		key := join(prefix, tomlName(f))
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, schemaKeys(f.Type, key)...)
			continue
		}
		if f.Tag.Get("doc") == "" {
			panic("no doc tag on " + key)
		}
		keys = append(keys, key)
	}
	return keys
}
