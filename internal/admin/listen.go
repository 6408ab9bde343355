package admin

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// maxSocketPath is the longest path a unix socket may have on Linux: 108
// bytes, with the terminating NUL.
const maxSocketPath = 107

// ErrRunning means another live server holds the data directory's admin
// socket.
var ErrRunning = errors.New("another Sealpost server is running on this data directory")

// Listen binds the admin socket of dataDir with mode 0600. It fails with
// ErrRunning when a live server holds the socket, removes a stale one, and
// never replaces a file that is not a socket. Closing the listener removes
// the socket.
func Listen(dataDir string) (net.Listener, error) {
	path := SocketPath(dataDir)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("admin socket: %s is longer than the %d bytes a unix socket's path may have: use a shorter data_dir", path, maxSocketPath)
	}
	// Bound inside a private directory (0700 whatever the umask) and made
	// 0600 before it is linked into place. Both names are short, so that
	// the temporary path is no longer than the final one.
	tmp, err := os.MkdirTemp(dataDir, ".as")
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o700); err != nil { // MkdirTemp's mode is less the umask
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	tmpPath := filepath.Join(tmp, "s")
	if len(tmpPath) > maxSocketPath {
		return nil, fmt.Errorf("admin socket: data_dir %s is too long for a unix socket inside it: use a shorter one", dataDir)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmpPath, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	ln.SetUnlinkOnClose(false) // it is unlinked by its final name, below
	if err := os.Chmod(tmpPath, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := linkSocket(tmpPath, path); err != nil {
		ln.Close()
		return nil, err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return &socketListener{UnixListener: ln, path: path, file: fi}, nil
}

// linkSocket links the bound socket at path; link, unlike rename, fails
// when path exists, so two servers starting at once cannot both win.
func linkSocket(bound, path string) error {
	for range 2 {
		err := os.Link(bound, path)
		if !errors.Is(err, fs.ErrExist) {
			if err != nil {
				return fmt.Errorf("admin socket: %w", err)
			}
			return nil
		}
		if err := removeStale(path); err != nil {
			return err
		}
	}
	return fmt.Errorf("admin socket %s: keeps being recreated; %w", path, ErrRunning)
}

// removeStale removes the socket at path if no server answers on it.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("admin socket: %s exists and is not a socket; remove it", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("admin socket %s answers: %w", path, ErrRunning)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("admin socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("admin socket: removing a stale one: %w", err)
	}
	return nil
}

// socketListener removes its socket when closed, if the file is still the
// one it bound.
type socketListener struct {
	*net.UnixListener
	path string
	file fs.FileInfo
	once sync.Once
}

func (l *socketListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if fi, e := os.Lstat(l.path); e == nil && os.SameFile(fi, l.file) {
			os.Remove(l.path)
		}
	})
	return err
}
