package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/instance"
	"sealpost.dev/sealpost/internal/store"
)

// run runs a command in-process and returns its exit code and output.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}
	code := Main(context.Background(), env, args)
	return code, out.String(), errOut.String()
}

func TestQueueCommands(t *testing.T) {
	dir := t.TempDir()
	_, st := openTestInstance(t, dir)
	msg := "From: ann@example.org\r\nSubject: queued\r\n\r\nbody\r\n"
	it, err := st.Enqueue(t.Context(), strings.NewReader(msg), store.NewQueueItem{
		From: "ann@example.org", Recipients: []store.NewQueueRecipient{{Address: "bob@elsewhere.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	id := "1"
	if it.ID != 1 {
		t.Fatalf("first queue ID %d", it.ID)
	}

	code, out, stderr := run(t, "queue", "list", "--json", "--data", dir)
	var rows []queueRow
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil {
		t.Fatalf("queue list: %d %s %s", code, out, stderr)
	}
	if len(rows) != 1 || rows[0].From != "ann@example.org" || rows[0].Recipients[0].Status != "pending" {
		t.Errorf("queue list = %+v", rows)
	}
	code, out, _ = run(t, "queue", "show", id, "--data", dir)
	if code != 0 || !strings.Contains(out, "Subject: queued") || !strings.Contains(out, "bob@elsewhere.example") {
		t.Errorf("queue show: %d %s", code, out)
	}
	steps := []struct {
		verb, state string
	}{{"hold", "held"}, {"retry", "held"}, {"release", "ready"}, {"retry", "ready"}}
	for _, s := range steps {
		if code, out, stderr := run(t, "queue", s.verb, id, "--data", dir); code != 0 {
			t.Fatalf("queue %s: %d %s %s", s.verb, code, out, stderr)
		}
		_, out, _ := run(t, "queue", "show", "--json", id, "--data", dir)
		var row queueRow
		if err := json.Unmarshal([]byte(out), &row); err != nil || row.State != s.state {
			t.Errorf("after %s: state %q (%v), want %s", s.verb, row.State, err, s.state)
		}
	}
	bad := [][]string{
		{"queue", "show", "x", "--data", dir},
		{"queue", "drop", "0", "--data", dir},
		{"queue", "drop", "99", "--data", dir},
		{"queue", "list", "extra", "--data", dir},
		{"queue", "purge", "--data", dir},
	}
	for _, args := range bad {
		if code, _, _ := run(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, stderr := run(t, "queue", "drop", id, "--data", dir); code != 0 {
		t.Fatalf("queue drop: %s", stderr)
	}
	if _, out, _ := run(t, "queue", "list", "--data", dir); !strings.Contains(out, "empty") {
		t.Errorf("after drop: %s", out)
	}
}

// openTestInstance opens the store of the instance in dir, with its
// configuration; the caller closes it.
func openTestInstance(t *testing.T, dir string) (*config.Config, store.Store) {
	t.Helper()
	cfg, err := instance.LoadConfig("", dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := instance.OpenStore(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, st
}
