// Package interop runs the sealpost binary as users and operators do: as a
// process, with real clients (openssl, curl) over real sockets on loopback.
package interop

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/tests/devtest"
)

// binary is the sealpost binary built once for the package.
var binary string

func TestMain(m *testing.M) { devtest.Main(m, &binary, raceEnabled) }

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
func freePortBase(t *testing.T) int { return devtest.FreePortBase(t, 11000) }

// syncBuffer collects a child process's output while tests read it.
type syncBuffer = devtest.SyncBuffer
