// Package imaptest runs Dovecot's imaptest scripted compliance tests
// (the script format of imaptest's docs/scripted_test.md) against a
// running `sealpost dev`, with a runner of its own: imaptest itself is not
// packaged.
//
// Supported: the header (capabilities, state, connections, messages,
// ignore_extra_untagged), the three command forms including pipelined
// tags, untagged and negative ("!") expectations, $variables, $n sequence
// variables tracked across EXPUNGE, ${case:...}, {{{...}}} literals, the
// $!ordered/unordered[=n]/noextra/extra/ignore/ban list directives with
// their defaults, and !ifenv/!ifnenv blocks. Left out: $modseqN ordering
// checks ($modseqN binds like any variable) and multiple users.
//
// The scripts live outside the repository (SEALPOST_IMAPTEST_DIR, by
// default shared/conformance/imaptest/tests beside it) and are never
// edited.
// Because the server is still growing, the test is a ratchet: every script
// listed in testdata/passing.txt must pass; other failures are reported
// but do not fail the run.
package imaptest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"sealpost.dev/sealpost/tests/devtest"
)

// binary is the sealpost binary built once for the package.
var binary string

func TestMain(m *testing.M) { devtest.Main(m, &binary, false) }

// devConfig is what `sealpost dev` writes to dev.json.
type devConfig struct {
	User     string         `json:"user"`
	Password string         `json:"password"`
	Host     string         `json:"host"`
	Ports    map[string]int `json:"ports"`
}

// startDev runs `sealpost dev` in dir until the test ends and returns its
// settings once dev.json appears.
func startDev(t *testing.T, dir string) (devConfig, *syncBuffer) {
	t.Helper()
	out := new(syncBuffer)
	cmd := exec.Command(binary, "dev", "--data", dir, "--port-base", fmt.Sprint(freePortBase(t)))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var c devConfig
		if data, err := os.ReadFile(filepath.Join(dir, "dev.json")); err == nil && json.Unmarshal(data, &c) == nil {
			return c, out
		}
		select {
		case err := <-done:
			t.Fatalf("sealpost dev exited early: %v\n%s", err, out)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("no dev.json within 20s\n%s", out)
	return devConfig{}, nil
}

// freePortBase finds a port base whose dev ports are all free on
// loopback, apart from the interop tests' range.
func freePortBase(t *testing.T) int { return devtest.FreePortBase(t, 11050) }

// syncBuffer collects a child process's output while tests read it.
type syncBuffer = devtest.SyncBuffer
