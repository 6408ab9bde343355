package mailbench

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		want       time.Duration
		ok         bool
	}{
		{"plain", "4242 (sealpost) S 1 4242 4242 0 -1 4194560 9000 0 0 0 150 25 0 0 20 0 12 0 100 0 0", 1750 * time.Millisecond, true},
		{"name with spaces and parens", "7 (a) b (c) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 100 0 0", 70 * time.Millisecond, true},
		{"no name", "7 a R 1", 0, false},
		{"too short", "7 (a) R 1 7 7 0 -1 0 0 0 0 0 3", 0, false},
		{"not a number", "7 (a) R 1 7 7 0 -1 0 0 0 0 0 x 4 0 0", 0, false},
	} {
		got, err := parseStat([]byte(tc.stat))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%s: parseStat = %v, %v; want %v, ok=%v", tc.name, got, err, tc.want, tc.ok)
		}
	}
}

func TestProcessCPUOwnProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	before, err := ProcessCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the kernel has charged at least two ticks, or give up.
	deadline := time.Now().Add(5 * time.Second)
	after := before
	for after < before+20*time.Millisecond && time.Now().Before(deadline) {
		for i := 0; i < 1e6; i++ {
			_ = strconv.Itoa(i)
		}
		if after, err = ProcessCPU(os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
	if after < before+20*time.Millisecond {
		t.Errorf("CPU time went from %v to %v after spinning for 5s", before, after)
	}
	if _, err := ProcessCPU(-1); err == nil {
		t.Error("ProcessCPU(-1) succeeded")
	}
}

// maildir makes a Maildir under t.TempDir with n messages in new/, m in
// cur/ and one being written in tmp/.
func maildir(t *testing.T, n, m int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "Maildir")
	for _, sub := range []string{"new", "cur", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	add(t, dir, "tmp", 0)
	for i := range n {
		add(t, dir, "new", i)
	}
	for i := range m {
		add(t, dir, "cur", i)
	}
	return dir
}

func add(t *testing.T, dir, sub string, i int) {
	t.Helper()
	name := filepath.Join(dir, sub, sub+strconv.Itoa(i)+".host")
	if err := os.WriteFile(name, []byte("Subject: x\r\n\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCountMaildir(t *testing.T) {
	dir := maildir(t, 3, 2)
	// A subdirectory, as Dovecot's folders are, is not a message.
	if err := os.Mkdir(filepath.Join(dir, "cur", ".Sent"), 0o700); err != nil {
		t.Fatal(err)
	}
	if n, err := CountMaildir(dir); err != nil || n != 5 {
		t.Errorf("CountMaildir = %d, %v; want 5", n, err)
	}
	if n, err := CountMaildir(filepath.Join(t.TempDir(), "none")); err != nil || n != 0 {
		t.Errorf("CountMaildir of a missing Maildir = %d, %v; want 0", n, err)
	}
}

func TestWaitMaildir(t *testing.T) {
	dir := maildir(t, 1, 0)
	go func() {
		for i := 1; i < 4; i++ {
			time.Sleep(10 * time.Millisecond)
			name := filepath.Join(dir, "new", "late"+strconv.Itoa(i))
			if err := os.WriteFile(name, nil, 0o600); err != nil {
				t.Error(err)
			}
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	n, at, err := WaitMaildir(ctx, dir, 4, 5*time.Millisecond)
	if err != nil || n != 4 || at.IsZero() {
		t.Errorf("WaitMaildir = %d, %v, %v; want 4", n, at, err)
	}

	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if n, _, err := WaitMaildir(ctx, dir, 10, 5*time.Millisecond); err == nil || n != 4 {
		t.Errorf("WaitMaildir for more than will come = %d, %v; want 4 and an error", n, err)
	}
}
