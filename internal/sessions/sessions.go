// Package sessions keeps the registry of an instance's live protocol
// sessions (IMAP, POP3, SMTP submission, web), so that an account's
// sessions can be listed and ended: "sign out all other sessions", and the
// end of the connections that used a revoked app password.
//
// The registry is in memory and belongs to one server process: session IDs
// are unique within it and mean nothing after a restart, when no session
// survives anyway. Each session registers with a function that ends it;
// the protocol servers close the connection, which stops the session
// within a second whatever it is doing.
//
// Left out: persistence. The registry lives and dies with the process, as
// the connections it holds do; nodes sharing a database each have their
// own. Web sessions are to register like the protocol sessions when the
// web interface comes.
package sessions

import (
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Info describes one live session.
type Info struct {
	ID          uint64
	AccountID   int64
	Address     string
	Protocol    string // "imap", "pop3", "smtp", "web"
	RemoteIP    netip.Addr
	Client      string
	AppPassword int64 // 0 for the main password
	Started     time.Time
}

// Registry is the set of live sessions. The zero value is ready to use and
// safe for concurrent use.
type Registry struct {
	mu       sync.Mutex
	next     uint64
	sessions map[uint64]*entry
}

type entry struct {
	info Info
	end  func()
}

// Add registers a live session and returns its ID and a function that
// removes it, to call when the session ends; calling it again, or after
// the session was ended through the registry, does nothing. info.ID is
// ignored, and a zero info.Started is taken as now. end must make the
// session stop within a second; the registry calls it at most once, and
// never while holding its lock, so end may call remove.
func (r *Registry) Add(info Info, end func()) (id uint64, remove func()) {
	if info.Started.IsZero() {
		info.Started = time.Now()
	}
	r.mu.Lock()
	r.next++
	info.ID = r.next
	if r.sessions == nil {
		r.sessions = map[uint64]*entry{}
	}
	r.sessions[info.ID] = &entry{info: info, end: end}
	r.mu.Unlock()
	id = info.ID
	return id, func() {
		r.mu.Lock()
		delete(r.sessions, id)
		r.mu.Unlock()
	}
}

// List returns the live sessions of an account, oldest first.
func (r *Registry) List(accountID int64) []Info {
	r.mu.Lock()
	var infos []Info
	for _, e := range r.sessions {
		if e.info.AccountID == accountID {
			infos = append(infos, e.info)
		}
	}
	r.mu.Unlock()
	sortByStart(infos)
	return infos
}

// SignOut ends every live session of an account except the one with ID
// except (0 spares none) and returns how many it ended.
func (r *Registry) SignOut(accountID int64, except uint64) int {
	return r.endWhere(func(i Info) bool { return i.AccountID == accountID && i.ID != except })
}

// EndAppPassword ends the live sessions of an account that logged in with
// the app password appPassword, and returns how many it ended. An
// appPassword of 0 (the main password) ends nothing: use SignOut.
func (r *Registry) EndAppPassword(accountID, appPassword int64) int {
	if appPassword == 0 {
		return 0
	}
	return r.endWhere(func(i Info) bool { return i.AccountID == accountID && i.AppPassword == appPassword })
}

// endWhere removes the sessions match selects and then, outside the lock,
// ends them one after the other (each end only closes a connection). A session is in the map at most once and leaves it here or
// by its remove, so its end runs at most once.
func (r *Registry) endWhere(match func(Info) bool) int {
	r.mu.Lock()
	var ends []func()
	for id, e := range r.sessions {
		if match(e.info) {
			ends = append(ends, e.end)
			delete(r.sessions, id)
		}
	}
	r.mu.Unlock()
	for _, end := range ends {
		if end != nil {
			end()
		}
	}
	return len(ends)
}

func sortByStart(infos []Info) {
	slices.SortFunc(infos, func(a, b Info) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
}
