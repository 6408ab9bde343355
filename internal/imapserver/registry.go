package imapserver

import "sealpost.dev/sealpost/internal/sessions"

// register enters the session, just logged in with the app password
// appPassword (0: the main password), in the registry of live sessions, so
// it can be listed and signed out, or ended when that app password is
// revoked. Ending it closes the connection: whatever the session is doing,
// waiting for a command, idling or in a transfer, its next read or write
// fails at once and it ends.
func (ss *session) register(appPassword int64) {
	if ss.srv.sessions == nil {
		return
	}
	ss.unregister()
	_, ss.deregister = ss.srv.sessions.Add(sessions.Info{
		AccountID: ss.account.ID, Address: ss.account.Address, Protocol: "imap",
		RemoteIP: ss.remote, AppPassword: appPassword, Client: ss.client,
	}, ss.Close)
}

// unregister takes the session out of the registry when it ends.
func (ss *session) unregister() {
	if ss.deregister != nil {
		ss.deregister()
		ss.deregister = nil
	}
}
