package mailbench

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the times in /proc/PID/stat: Linux reports them in
// USER_HZ ticks, 100 per second on every architecture it exports them from.
const userHZ = 100

// ProcessCPU returns the CPU time, user and system, that process pid has
// used so far (fields utime and stime of /proc/PID/stat, proc(5)). Children
// are not counted.
func ProcessCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("mailbench: CPU time of process %d: %w", pid, err)
	}
	return parseStat(data)
}

// parseStat reads utime and stime from the text of /proc/PID/stat. The
// command name, field 2, may hold spaces and parentheses, so fields are
// counted from the last ")".
func parseStat(data []byte) (time.Duration, error) {
	s := string(data)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0, errors.New("mailbench: malformed /proc stat: no command name")
	}
	fields := strings.Fields(s[end+1:])
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0, errors.New("mailbench: malformed /proc stat: too few fields")
	}
	var ticks int64
	for _, f := range []string{fields[utime], fields[stime]} {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("mailbench: malformed /proc stat: bad time %q", f)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// CountMaildir returns the number of messages in the Maildir dir: the
// regular files in its new/ and cur/ subdirectories. Files still being
// written are in tmp/ and not counted; missing subdirectories count as
// empty.
func CountMaildir(dir string) (int, error) {
	n := 0
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("mailbench: %w", err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				n++
			}
		}
	}
	return n, nil
}

// WaitMaildir polls the Maildir dir every interval until it holds at least
// want messages, and returns the count and when it was first seen. It
// returns the last count with an error wrapping ctx's when ctx ends first.
func WaitMaildir(ctx context.Context, dir string, want int, interval time.Duration) (int, time.Time, error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := CountMaildir(dir)
		now := time.Now()
		if err != nil {
			return n, now, err
		}
		if n >= want {
			return n, now, nil
		}
		select {
		case <-ctx.Done():
			return n, now, fmt.Errorf("mailbench: %d of %d messages in %s: %w", n, want, dir, ctx.Err())
		case <-t.C:
		}
	}
}
