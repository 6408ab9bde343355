package admin

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shortDir returns a fresh directory with a path short enough for a unix
// socket (sun_path holds 108 bytes; t.TempDir's may be longer).
func shortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func dial(path string) error {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
	}
	return err
}

// TestListenMode: whatever the umask, the socket is 0600, and no other
// file is left in the data directory.
func TestListenMode(t *testing.T) {
	for _, umask := range []int{0, 0o022, 0o077, 0o777} {
		t.Run(fs.FileMode(umask).String(), func(t *testing.T) {
			old := syscall.Umask(umask)
			defer syscall.Umask(old)
			dir := shortDir(t)
			ln, err := Listen(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			fi, err := os.Lstat(SocketPath(dir))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
				t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("data directory holds %d entries, want only the socket", len(entries))
			}
			if err := dial(SocketPath(dir)); err != nil {
				t.Errorf("connecting: %v", err)
			}
		})
	}
}

func TestListenAndClose(t *testing.T) {
	for _, tc := range []struct {
		name    string
		before  func(t *testing.T, path string) // what is at the path first
		wantErr string                          // "" for success
		isLive  bool                            // wantErr is ErrRunning
	}{
		{name: "nothing there", before: func(*testing.T, string) {}},
		{
			name: "a stale socket is replaced",
			before: func(t *testing.T, path string) {
				ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
				if err != nil {
					t.Fatal(err)
				}
				ln.SetUnlinkOnClose(false)
				ln.Close()
			},
		},
		{
			name: "a live server is not",
			before: func(t *testing.T, path string) {
				ln, err := Listen(filepath.Dir(path))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ln.Close() })
			},
			wantErr: "running", isLive: true,
		},
		{
			name: "a file that is not a socket is left alone",
			before: func(t *testing.T, path string) {
				if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "not a socket",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := shortDir(t)
			path := SocketPath(dir)
			tc.before(t, path)
			before, _ := os.Lstat(path)
			ln, err := Listen(dir)
			if tc.wantErr != "" {
				if err == nil {
					ln.Close()
					t.Fatal("Listen succeeded")
				}
				if !strings.Contains(err.Error(), tc.wantErr) || errors.Is(err, ErrRunning) != tc.isLive {
					t.Fatalf("Listen: %v, want an error with %q", err, tc.wantErr)
				}
				after, err := os.Lstat(path)
				if err != nil || !os.SameFile(before, after) {
					t.Errorf("the file in the way was replaced or removed (%v)", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			accepted := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err == nil {
					c.Close()
				}
				accepted <- err
			}()
			if err := dial(path); err != nil {
				t.Fatalf("connecting: %v", err)
			}
			if err := <-accepted; err != nil {
				t.Fatalf("accepting: %v", err)
			}
			ln.Close()
			if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("socket left after Close: %v", err)
			}
			if err := ln.Close(); err == nil {
				t.Error("a second Close reports no error")
			}
		})
	}
}

// TestCloseLeavesAnotherSocket: a listener whose socket was replaced (by
// hand, after it went stale) does not remove the new one when closed.
func TestCloseLeavesAnotherSocket(t *testing.T) {
	dir := shortDir(t)
	ln, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(SocketPath(dir))
	ln2, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	ln.Close()
	if err := dial(SocketPath(dir)); err != nil {
		t.Errorf("the second server's socket is gone: %v", err)
	}
}

func TestListenPathTooLong(t *testing.T) {
	dir := filepath.Join(shortDir(t), strings.Repeat("d", 100))
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Listen(dir)
	if err == nil || !strings.Contains(err.Error(), "shorter data_dir") {
		t.Fatalf("Listen in a deep directory: %v, want an error asking for a shorter data_dir", err)
	}
}
