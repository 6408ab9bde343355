package admin

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/user"
	"strconv"
	"strings"
	"sync"

	"sealpost.dev/sealpost/internal/store"
)

// The audit log of the socket: every request that may change state (any
// method but GET and HEAD) leaves one entry in the event log, Kind
// "admin", Protocol "admin-socket", with the OS user of the process that
// connected (from the kernel, SO_PEERCRED) as Client, the method and path
// and what the handler noted about the change as Detail, and "ok" or
// "fail" as Outcome. Handlers never note a secret.

// peerAddr is the remote address of an accepted admin connection: the
// peer's user ID, which http.Request.RemoteAddr then carries to the
// handler.
type peerAddr struct{ uid string }

func (peerAddr) Network() string  { return "unix" }
func (a peerAddr) String() string { return "uid=" + a.uid }

type peerConn struct {
	net.Conn
	addr peerAddr
}

func (c peerConn) RemoteAddr() net.Addr { return c.addr }

// Accept accepts a connection and notes its peer's user ID.
func (l *socketListener) Accept() (net.Conn, error) {
	c, err := l.UnixListener.AcceptUnix()
	if err != nil {
		return nil, err
	}
	if uid, ok := peerUID(c); ok {
		return peerConn{c, peerAddr{strconv.FormatUint(uint64(uid), 10)}}, nil
	}
	return c, nil
}

// peerUser is the name (or, failing that, the ID) of the OS user a
// request came from, "" when unknown.
func peerUser(r *http.Request) string {
	uid, ok := strings.CutPrefix(r.RemoteAddr, "uid=")
	if !ok {
		return ""
	}
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return "uid " + uid
}

// auditNote is where a handler says, for the audit log, what it changed.
type auditNote struct {
	mu   sync.Mutex
	text string
}

type auditKey struct{}

// noteAudit records, for the audit entry of r, what the request did; the
// last note stands.
func noteAudit(r *http.Request, format string, args ...any) {
	if n, ok := r.Context().Value(auditKey{}).(*auditNote); ok {
		n.mu.Lock()
		n.text = fmt.Sprintf(format, args...)
		n.mu.Unlock()
	}
}

// statusWriter remembers the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// audited records every request but a GET or HEAD after h answers it.
func (s *Server) audited(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			h.ServeHTTP(w, r)
			return
		}
		note := &auditNote{}
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), auditKey{}, note)))
		e := store.LogEntry{Kind: "admin", Protocol: "admin-socket", Client: peerUser(r), Outcome: "ok",
			Detail: r.Method + " " + truncate(r.URL.Path, 200)}
		note.mu.Lock()
		if note.text != "" {
			e.Detail += ": " + note.text
		}
		note.mu.Unlock()
		if sw.status >= 400 {
			e.Outcome = "fail"
			e.Detail += fmt.Sprintf(" (%d %s)", sw.status, http.StatusText(sw.status))
		}
		if _, err := s.Accounts.Store.AppendLog(context.WithoutCancel(r.Context()), e); err != nil {
			s.log().Error("admin: recording a change in the audit log", "change", e.Detail, "err", err)
		}
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
