// Package admin is the administrative interface of a running Sealpost
// server: HTTP with JSON bodies over a unix socket in the data directory,
// <data_dir>/admin.sock, which only the server's own user may open (mode
// 0600). Administrative commands use it to act on what lives only in the
// server's memory, such as its live protocol sessions; with no server
// running they open the store directly instead.
//
// The socket is made umask-safe: it is bound inside a fresh private
// directory, given mode 0600, and then linked into place, so it is never
// reachable with looser permissions. Listen refuses to start when another
// live server holds the socket, and replaces a stale one left by a server
// that did not shut down.
//
// Endpoints (errors are {"error": "..."} with a 4xx or 5xx status):
//
//	GET  /v1/sessions?account=ADDRESS   the account's live sessions
//	POST /v1/signout                    {"account": ADDRESS, "keep": ID}
//	                                    ends every live session of the
//	                                    account but the one kept (0 or
//	                                    absent: none), and forgets its
//	                                    remembered logins
//
// Every request that may change state (any method but GET and HEAD) is
// recorded in the event log, the admin audit log (Kind "admin", Protocol
// "admin-socket"), with the OS user of the connecting process, which the
// kernel gives (SO_PEERCRED, Linux only; elsewhere the user is unknown).
//
// Left out: authentication on the socket beyond its file mode (the
// kernel checks it on connect), and the endpoints of the other
// administrative commands, which still open the store themselves.
package admin

import (
	"net/netip"
	"path/filepath"
	"time"

	"sealpost.dev/sealpost/internal/sessions"
)

// SocketName is the socket's name inside the data directory.
const SocketName = "admin.sock"

// SocketPath returns the path of the admin socket of a data directory.
func SocketPath(dataDir string) string { return filepath.Join(dataDir, SocketName) }

// Session is one live session as the API shows it.
type Session struct {
	ID          uint64     `json:"id"`
	Protocol    string     `json:"protocol"`
	RemoteIP    netip.Addr `json:"remote_ip"`
	Client      string     `json:"client,omitempty"`
	AppPassword int64      `json:"app_password,omitempty"` // 0: the main password
	Started     time.Time  `json:"started"`
}

// SessionList is the answer to GET /v1/sessions.
type SessionList struct {
	Account  string    `json:"account"`
	Sessions []Session `json:"sessions"`
}

// SignOutRequest is the body of POST /v1/signout.
type SignOutRequest struct {
	Account string `json:"account"`
	// Keep is the ID of a live session of the account to leave open; 0
	// keeps none.
	Keep uint64 `json:"keep,omitempty"`
}

// SignOutResult is the answer to POST /v1/signout.
type SignOutResult struct {
	Account string `json:"account"`
	Ended   int    `json:"ended"`
	Kept    uint64 `json:"kept,omitempty"`
}

func sessionOf(i sessions.Info) Session {
	return Session{ID: i.ID, Protocol: i.Protocol, RemoteIP: i.RemoteIP, Client: i.Client,
		AppPassword: i.AppPassword, Started: i.Started.UTC()}
}

// EndAppPasswordRequest asks to end the live sessions that logged in with
// an app password, once it has been revoked.
type EndAppPasswordRequest struct {
	Account     string `json:"account"`
	AppPassword int64  `json:"app_password"`
}

// EndAppPasswordResult says how many sessions ended.
type EndAppPasswordResult struct {
	Account     string `json:"account"`
	AppPassword int64  `json:"app_password"`
	Ended       int    `json:"ended"`
}
