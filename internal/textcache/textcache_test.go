package textcache

import (
	"errors"
	"strconv"
	"sync"
	"testing"
)

func TestCache(t *testing.T) {
	calls := 0
	c := New(3, func(s string) (*int, error) {
		calls++
		n, err := strconv.Atoi(s)
		return &n, err
	})
	tests := []struct {
		text      string
		want      int
		err       bool
		wantCalls int
		wantLen   int
	}{
		{"1", 1, false, 1, 1},
		{"1", 1, false, 1, 1}, // cached
		{"x", 0, true, 2, 1},  // errors are not kept
		{"x", 0, true, 3, 1},
		{"2", 2, false, 4, 2},
		{"3", 3, false, 5, 3},
		{"4", 4, false, 6, 1}, // full: emptied first
		{"1", 1, false, 7, 2},
	}
	for _, tt := range tests {
		v, err := c.Parse(tt.text)
		if (err != nil) != tt.err || err == nil && *v != tt.want {
			t.Errorf("Parse(%q) = %v, %v", tt.text, v, err)
		}
		if calls != tt.wantCalls || c.Len() != tt.wantLen {
			t.Errorf("after %q: %d parses, %d entries; want %d, %d", tt.text, calls, c.Len(), tt.wantCalls, tt.wantLen)
		}
	}
}

// TestShared: one parse result is handed to every caller.
func TestShared(t *testing.T) {
	c := New(10, func(s string) (*string, error) {
		if s == "" {
			return nil, errors.New("empty")
		}
		return &s, nil
	})
	first, _ := c.Parse("v=x")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if v, err := c.Parse("v=x"); err != nil || v != first {
				t.Errorf("got %p %v, want the shared %p", v, err, first)
			}
		})
	}
	wg.Wait()
}
