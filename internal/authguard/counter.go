package authguard

import (
	"container/list"
	"time"
)

// window counts failures over a sliding window of a given length,
// estimated from two fixed buckets: the current one and the one before,
// weighted by how much of it still overlaps the window. It needs no
// memory per failure, and its estimate is never lower than the failures of
// the current bucket nor higher than those of the last two.
type window struct {
	start     time.Time // start of the current bucket
	cur, prev int
}

func (w *window) roll(now time.Time, length time.Duration) {
	if w.start.IsZero() {
		w.start = now
		return
	}
	elapsed := now.Sub(w.start)
	if elapsed < length {
		return
	}
	n := elapsed / length
	if n == 1 {
		w.prev = w.cur
	} else {
		w.prev = 0
	}
	w.cur = 0
	w.start = w.start.Add(n * length)
}

// count returns the estimated failures within length before now.
func (w *window) count(now time.Time, length time.Duration) float64 {
	w.roll(now, length)
	frac := float64(now.Sub(w.start)) / float64(length)
	frac = min(max(frac, 0), 1)
	return float64(w.prev)*(1-frac) + float64(w.cur)
}

func (w *window) add(now time.Time, length time.Duration) {
	w.roll(now, length)
	w.cur++
}

// kind is what an entry counts the failures of.
type kind uint8

const (
	kindIP kind = iota
	kindNetwork
	kindAccount
)

func (k kind) String() string {
	switch k {
	case kindIP:
		return "ip"
	case kindNetwork:
		return "network"
	}
	return "account"
}

// entry is the state of one IP address, network or account.
type entry struct {
	kind        kind
	name        string // "192.0.2.1", "192.0.2.0/24", "user@example.com"
	win         window
	lastFailure time.Time
	lockedUntil time.Time
	strikes     int // lock-outs while the previous one is remembered
	pending     int // attempts admitted whose outcome is not known yet
	pendingAt   time.Time
	elem        *list.Element
}

func (e *entry) locked(now time.Time) bool { return now.Before(e.lockedUntil) }

// inFlight returns the attempts in progress, forgetting them all once none
// was admitted for lapse.
func (e *entry) inFlight(now time.Time, lapse time.Duration) int {
	if now.Sub(e.pendingAt) >= lapse {
		return 0
	}
	return e.pending
}

// table holds at most max entries, the most recently failed first, so
// that the ones to forget when it is full are found at the back.
type table struct {
	max int
	m   map[string]*entry
	lru *list.List // of *entry
}

func newTable(max int) *table {
	return &table{max: max, m: make(map[string]*entry), lru: list.New()}
}

func tableKey(k kind, name string) string { return string('0'+byte(k)) + name }

func (t *table) get(k kind, name string) *entry { return t.m[tableKey(k, name)] }

// touch returns the entry of name, made if absent, as the most recent one.
// stale tells entries that carry nothing worth keeping, for eviction when
// the table is full.
func (t *table) touch(now time.Time, k kind, name string, stale func(*entry) bool) *entry {
	key := tableKey(k, name)
	if e, ok := t.m[key]; ok {
		t.lru.MoveToFront(e.elem)
		return e
	}
	if len(t.m) >= t.max {
		t.evict(now, stale)
	}
	e := &entry{kind: k, name: name}
	e.elem = t.lru.PushFront(e)
	t.m[key] = e
	return e
}

// dropStale forgets up to n stale entries from the back, so that the table
// shrinks once failures stop.
func (t *table) dropStale(stale func(*entry) bool, n int) {
	for range n {
		back := t.lru.Back()
		if back == nil || !stale(back.Value.(*entry)) {
			return
		}
		t.remove(back.Value.(*entry))
	}
}

// evict forgets one entry: among the last few, a stale one, else one not
// locked out, else the last. Locks are worth keeping longest: each cost an
// attacker many failed password checks.
const evictScan = 16

func (t *table) evict(now time.Time, stale func(*entry) bool) {
	var unlocked *entry
	el := t.lru.Back()
	for i := 0; el != nil && i < evictScan; i, el = i+1, el.Prev() {
		e := el.Value.(*entry)
		if stale(e) {
			t.remove(e)
			return
		}
		if unlocked == nil && !e.locked(now) {
			unlocked = e
		}
	}
	if unlocked == nil {
		unlocked = t.lru.Back().Value.(*entry)
	}
	t.remove(unlocked)
}

func (t *table) remove(e *entry) {
	t.lru.Remove(e.elem)
	delete(t.m, tableKey(e.kind, e.name))
}
