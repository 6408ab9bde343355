// Package blob stores message bodies as files, one file per body, for the
// embedded storage backend.
//
// A body is written straight under its final name (created exclusively, so
// an existing body is never touched), synced with fsync, and its directory
// synced, so that once Put returns the body survives a crash or power loss.
//
// Why not the usual temporary file and rename: a body is reachable only
// through metadata that the caller commits after Put returns, so nothing
// reads a body while it is being written, and a crash mid-write leaves an
// orphan, which Sweep removes like any other. The rename would only guard
// readers that cannot exist, and on journalling file systems it costs a
// second journal commit: there (ext4, XFS) the file's fsync commits the
// journal transaction that also holds its new directory entry, so the
// directory sync that follows finds little or nothing left to write,
// whereas a rename after the fsync dirties the directory again. The
// directory is still synced, since POSIX promises a new name's durability
// only through that.
//
// IDs are random (128 bits, hex), not content hashes: two deliveries of the
// same bytes get two bodies, so removing one never affects the other, and an
// ID reveals nothing about the content. Files are sharded into 256
// subdirectories by the first two hex digits of the ID.
//
// The package keeps no record of which bodies are in use; that is the
// metadata store's job. A crash between writing a body and committing the
// metadata that points to it leaves an orphan file; Sweep removes orphans
// that are older than a grace period, asking the caller which IDs are in use.
package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrInvalidID is returned for an ID that Put could not have produced.
var ErrInvalidID = errors.New("blob: invalid id")

const (
	idBytes = 16
	idLen   = 2 * idBytes
	// tmpDir held bodies being written before Put wrote them in place;
	// Sweep still empties it of what an older Sealpost left there.
	tmpDir = "tmp"
)

// Store is a directory of message bodies. It is safe for concurrent use.
type Store struct {
	dir string
}

// Open opens the blob store rooted at dir, creating dir, its shard
// directories and its temporary directory as needed.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, tmpDir), 0o700); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	for i := range 256 {
		if err := os.Mkdir(filepath.Join(dir, fmt.Sprintf("%02x", i)), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("blob: %w", err)
		}
	}
	// The shard directories must themselves be durable before a body's
	// durability can rest on syncing its shard directory alone.
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return nil, err
	}
	return &Store{dir: dir}, nil
}

// Dir returns the root directory of the store.
func (s *Store) Dir() string { return s.dir }

// Put writes the body read from r durably and returns its new ID and size.
// If reading r fails or ctx is done, the file is removed and the error is
// returned.
func (s *Store) Put(ctx context.Context, r io.Reader) (id string, size int64, err error) {
	id, err = newID()
	if err != nil {
		return "", 0, err
	}
	final := s.path(id)
	f, err := os.OpenFile(final, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", 0, fmt.Errorf("blob: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(final)
		}
	}()
	size, err = io.Copy(f, ctxReader{ctx, r})
	if err != nil {
		return "", 0, fmt.Errorf("blob: writing body: %w", err)
	}
	if err = f.Sync(); err != nil {
		return "", 0, fmt.Errorf("blob: %w", err)
	}
	if err = f.Close(); err != nil {
		return "", 0, fmt.Errorf("blob: %w", err)
	}
	if err = syncDir(filepath.Dir(final)); err != nil {
		return "", 0, err
	}
	return id, size, nil
}

// Open opens the body with the given ID. A missing body gives an error
// matching fs.ErrNotExist.
func (s *Store) Open(id string) (*os.File, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	f, err := os.Open(s.path(id))
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return f, nil
}

// Remove deletes the body with the given ID. Removing a missing body is not
// an error, so that removal can be retried after a crash.
func (s *Store) Remove(id string) error {
	if !ValidID(id) {
		return fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

// Info describes a stored body.
type Info struct {
	ID      string
	Size    int64
	ModTime time.Time
}

// Walk calls fn for every stored body, shard by shard. It stops at the first
// error fn returns, or when ctx is done.
func (s *Store) Walk(ctx context.Context, fn func(Info) error) error {
	for i := range 256 {
		if err := ctx.Err(); err != nil {
			return err
		}
		shard := filepath.Join(s.dir, fmt.Sprintf("%02x", i))
		entries, err := os.ReadDir(shard)
		if err != nil {
			return fmt.Errorf("blob: %w", err)
		}
		for _, e := range entries {
			if !ValidID(e.Name()) || !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed meanwhile
			}
			if err != nil {
				return fmt.Errorf("blob: %w", err)
			}
			if err := fn(Info{ID: e.Name(), Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Sweep removes orphans: bodies last modified before olderThan for which
// inUse reports false, and temporary files of interrupted writes older than
// olderThan. It returns the IDs of the bodies it removed. The grace period
// implied by olderThan protects bodies being written right now, whose
// metadata is not committed yet.
func (s *Store) Sweep(ctx context.Context, olderThan time.Time, inUse func(ctx context.Context, id string) (bool, error)) ([]string, error) {
	var removed []string
	err := s.Walk(ctx, func(in Info) error {
		if !in.ModTime.Before(olderThan) {
			return nil
		}
		used, err := inUse(ctx, in.ID)
		if err != nil || used {
			return err
		}
		if err := s.Remove(in.ID); err != nil {
			return err
		}
		removed = append(removed, in.ID)
		return nil
	})
	if err != nil {
		return removed, err
	}
	return removed, s.sweepTmp(olderThan)
}

func (s *Store) sweepTmp(olderThan time.Time) error {
	dir := filepath.Join(s.dir, tmpDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(olderThan) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("blob: %w", err)
		}
	}
	return nil
}

// ValidID reports whether id has the form of an ID made by Put.
func ValidID(id string) bool {
	if len(id) != idLen {
		return false
	}
	return strings.IndexFunc(id, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f')
	}) < 0
}

func (s *Store) path(id string) string {
	return filepath.Join(s.dir, id[:2], id)
}

func newID() (string, error) {
	var b [idBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("blob: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("blob: syncing %s: %w", dir, err)
	}
	return nil
}

// ctxReader stops a long copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
