// Package interop runs the sealpost binary as users and operators do: as a
// process, with real clients (openssl, curl) over real sockets on loopback.
package interop

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binary is the sealpost binary built once for the package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sealpost-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "sealpost")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "sealpost.dev/sealpost/cmd/sealpost")...)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building sealpost:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what a finished sealpost command left.
type result struct {
	code           int
	stdout, stderr string
}

// sealpost runs the binary to completion with stdin and returns its output.
func sealpost(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("sealpost %v: %v", args, err)
		}
		r.code = ee.ExitCode()
	}
	return r
}

// freePortBase finds a port base whose dev ports are all free on loopback.
func freePortBase(t *testing.T) int {
	t.Helper()
	offsets := []int{25, 587, 465, 143, 993, 110, 995, 443, 8080}
	// Below 32768: the kernel hands out ephemeral ports above it.
	for base := 11000 + os.Getpid()%100*100; base < 32768-8080; base += 137 {
		free := true
		var held []net.Listener
		for _, off := range offsets {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+off))
			if err != nil {
				free = false
				break
			}
			held = append(held, ln)
		}
		for _, ln := range held {
			ln.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free port base")
	return 0
}

// syncBuffer collects a child process's output while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
