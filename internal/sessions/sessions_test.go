package sessions

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fixture is a registry holding sessions of accounts 1 and 2, with a count
// of how often each session's end ran.
type fixture struct {
	r     *Registry
	ids   map[string]uint64 // by name
	ended map[string]*atomic.Int32
	rm    map[string]func()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{r: &Registry{}, ids: map[string]uint64{}, ended: map[string]*atomic.Int32{}, rm: map[string]func(){}}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, s := range []struct {
		name    string
		account int64
		proto   string
		app     int64
	}{
		{"a-imap", 1, "imap", 0},
		{"a-pop3", 1, "pop3", 7},
		{"a-smtp", 1, "smtp", 7},
		{"a-web", 1, "web", 8},
		{"b-imap", 2, "imap", 7},
	} {
		n := &atomic.Int32{}
		id, remove := f.r.Add(Info{
			AccountID: s.account, Protocol: s.proto, AppPassword: s.app,
			RemoteIP: netip.MustParseAddr("127.0.0.1"), Started: start.Add(time.Duration(i) * time.Second),
		}, func() { n.Add(1) })
		f.ids[s.name], f.ended[s.name], f.rm[s.name] = id, n, remove
	}
	return f
}

// check asserts that exactly the named sessions were ended, once each.
func (f *fixture) check(t *testing.T, ended ...string) {
	t.Helper()
	for name, n := range f.ended {
		want := int32(0)
		if slices.Contains(ended, name) {
			want = 1
		}
		if got := n.Load(); got != want {
			t.Errorf("session %s ended %d times, want %d", name, got, want)
		}
	}
}

func (f *fixture) listed(account int64) []string {
	var names []string
	for _, info := range f.r.List(account) {
		for name, id := range f.ids {
			if id == info.ID {
				names = append(names, name)
			}
		}
	}
	return names
}

func TestRegistry(t *testing.T) {
	for _, tc := range []struct {
		name    string
		do      func(f *fixture) int
		wantN   int
		ended   []string
		remainA []string // account 1's listed sessions afterwards, oldest first
		remainB []string
	}{
		{
			name:    "nothing",
			do:      func(*fixture) int { return 0 },
			remainA: []string{"a-imap", "a-pop3", "a-smtp", "a-web"}, remainB: []string{"b-imap"},
		},
		{
			name:  "sign out all",
			do:    func(f *fixture) int { return f.r.SignOut(1, 0) },
			wantN: 4, ended: []string{"a-imap", "a-pop3", "a-smtp", "a-web"}, remainB: []string{"b-imap"},
		},
		{
			name:  "sign out all but one",
			do:    func(f *fixture) int { return f.r.SignOut(1, f.ids["a-web"]) },
			wantN: 3, ended: []string{"a-imap", "a-pop3", "a-smtp"},
			remainA: []string{"a-web"}, remainB: []string{"b-imap"},
		},
		{
			name:  "except names another account's session",
			do:    func(f *fixture) int { return f.r.SignOut(1, f.ids["b-imap"]) },
			wantN: 4, ended: []string{"a-imap", "a-pop3", "a-smtp", "a-web"}, remainB: []string{"b-imap"},
		},
		{
			name:    "sign out an account with no sessions",
			do:      func(f *fixture) int { return f.r.SignOut(3, 0) },
			remainA: []string{"a-imap", "a-pop3", "a-smtp", "a-web"}, remainB: []string{"b-imap"},
		},
		{
			name:  "sign out twice ends once",
			do:    func(f *fixture) int { f.r.SignOut(2, 0); return f.r.SignOut(2, 0) },
			wantN: 0, ended: []string{"b-imap"},
			remainA: []string{"a-imap", "a-pop3", "a-smtp", "a-web"},
		},
		{
			name:  "app password ends only its sessions of that account",
			do:    func(f *fixture) int { return f.r.EndAppPassword(1, 7) },
			wantN: 2, ended: []string{"a-pop3", "a-smtp"},
			remainA: []string{"a-imap", "a-web"}, remainB: []string{"b-imap"},
		},
		{
			name:    "app password 0 is the main password and ends nothing",
			do:      func(f *fixture) int { return f.r.EndAppPassword(1, 0) },
			remainA: []string{"a-imap", "a-pop3", "a-smtp", "a-web"}, remainB: []string{"b-imap"},
		},
		{
			name:  "removed sessions are not ended",
			do:    func(f *fixture) int { f.rm["a-imap"](); f.rm["a-imap"](); return f.r.SignOut(1, 0) },
			wantN: 3, ended: []string{"a-pop3", "a-smtp", "a-web"}, remainB: []string{"b-imap"},
		},
		{
			name: "remove after sign out does nothing",
			do: func(f *fixture) int {
				n := f.r.SignOut(2, 0)
				f.rm["b-imap"]()
				f.rm["a-imap"]()
				return n
			},
			wantN: 1, ended: []string{"b-imap"}, remainA: []string{"a-pop3", "a-smtp", "a-web"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if n := tc.do(f); n != tc.wantN {
				t.Errorf("ended %d sessions, want %d", n, tc.wantN)
			}
			f.check(t, tc.ended...)
			if got := f.listed(1); !slices.Equal(got, tc.remainA) {
				t.Errorf("account 1 lists %v, want %v", got, tc.remainA)
			}
			if got := f.listed(2); !slices.Equal(got, tc.remainB) {
				t.Errorf("account 2 lists %v, want %v", got, tc.remainB)
			}
		})
	}
}

func TestListCopiesInfo(t *testing.T) {
	var r Registry
	before := time.Now()
	id, _ := r.Add(Info{ID: 99, AccountID: 1, Address: "a@example.org", Protocol: "imap", Client: "mutt"}, nil)
	got := r.List(1)
	if len(got) != 1 {
		t.Fatalf("listed %d sessions, want 1", len(got))
	}
	i := got[0]
	if i.ID != id || id == 99 {
		t.Errorf("ID %d, Add returned %d; the caller's ID 99 must be ignored", i.ID, id)
	}
	if i.Address != "a@example.org" || i.Protocol != "imap" || i.Client != "mutt" {
		t.Errorf("info not kept: %+v", i)
	}
	if i.Started.Before(before) || time.Since(i.Started) > time.Minute {
		t.Errorf("zero Started not set to now: %v", i.Started)
	}
	got[0].Client = "changed"
	if r.List(1)[0].Client != "mutt" {
		t.Error("List shares its Info with the registry")
	}
	if n := r.SignOut(1, 0); n != 1 {
		t.Errorf("a nil end: SignOut ended %d, want 1", n)
	}
}

// TestEndOutsideLock ends sessions whose end uses the registry, as a
// session's end does when it runs its own remove; under the lock this
// would deadlock.
func TestEndOutsideLock(t *testing.T) {
	var r Registry
	for range 3 {
		var remove func()
		_, remove = r.Add(Info{AccountID: 1}, func() {
			remove()
			r.List(1)
		})
	}
	done := make(chan int)
	go func() { done <- r.SignOut(1, 0) }()
	select {
	case n := <-done:
		if n != 3 {
			t.Errorf("ended %d, want 3", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SignOut deadlocked: end runs under the registry's lock")
	}
}

// TestConcurrent adds, lists, removes and signs out from many goroutines
// (run with -race): IDs are unique and every session is ended at most
// once, and exactly once when it was not removed first.
func TestConcurrent(t *testing.T) {
	var r Registry
	const workers, each = 8, 200
	var (
		mu      sync.Mutex
		seen    = map[uint64]bool{}
		ends    = make([]atomic.Int32, workers*each)
		removed = make([]atomic.Bool, workers*each)
		wg      sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				k := w*each + i
				id, remove := r.Add(Info{AccountID: int64(k % 3), AppPassword: int64(k % 2)}, func() { ends[k].Add(1) })
				mu.Lock()
				if seen[id] {
					t.Errorf("id %d given twice", id)
				}
				seen[id] = true
				mu.Unlock()
				switch k % 4 {
				case 0:
					removed[k].Store(true)
					remove()
					remove()
				case 1:
					r.SignOut(int64(k%3), 0)
				case 2:
					r.EndAppPassword(int64(k%3), 1)
				default:
					r.List(int64(k % 3))
				}
			}
		})
	}
	wg.Wait()
	for a := range int64(3) {
		r.SignOut(a, 0)
	}
	for k := range ends {
		n := ends[k].Load()
		switch {
		case n > 1:
			t.Errorf("session %d ended %d times", k, n)
		case n == 0 && !removed[k].Load():
			t.Errorf("session %d never ended nor removed", k)
		}
	}
	for a := range int64(3) {
		if l := r.List(a); len(l) != 0 {
			t.Errorf("account %d still lists %d sessions", a, len(l))
		}
	}
}
