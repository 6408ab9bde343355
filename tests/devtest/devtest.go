// Package devtest holds what the end-to-end test packages share to run the
// sealpost binary: building it once, finding free loopback ports for a dev
// instance, and collecting a child process's output safely.
package devtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Main builds the sealpost binary into a temporary directory (with the race
// detector if race is set), sets *binary to its path, runs the tests and
// exits. Call it from TestMain.
func Main(m *testing.M, binary *string, race bool) {
	dir, err := os.MkdirTemp("", "sealpost-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*binary = filepath.Join(dir, "sealpost")
	args := []string{"build", "-o", *binary}
	if race {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "sealpost.dev/sealpost/cmd/sealpost")...)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building sealpost:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// devOffsets are the ports `sealpost dev` uses above its port base.
var devOffsets = []int{25, 587, 465, 143, 993, 110, 995, 443, 8080}

// FreePortBase finds a port base, starting near first, whose dev ports are
// all free on loopback. Bases stay below 32768, where the kernel hands out
// ephemeral ports; packages running in parallel pass different firsts.
func FreePortBase(t testing.TB, first int) int {
	t.Helper()
	for base := first + os.Getpid()%100*100; base < 32768-8080; base += 137 {
		if portsFree(base) {
			return base
		}
	}
	t.Fatal("no free port base")
	return 0
}

func portsFree(base int) bool {
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	for _, off := range devOffsets {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+off))
		if err != nil {
			return false
		}
		held = append(held, ln)
	}
	return true
}

// SyncBuffer collects a child process's output while tests read it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
