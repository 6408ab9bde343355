package api_test

import (
	"net/http"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/api"
	"sealpost.dev/sealpost/internal/sessions"
	"sealpost.dev/sealpost/internal/store"
)

// The API is mounted under api.Prefix on an HTTPS listener; a password
// change ends the web sessions with the protocol sessions.
func Example() {
	var st store.Store // the instance's store
	accounts := &account.Service{Store: st}
	reg := &sessions.Registry{}
	a := &api.Server{Accounts: accounts, Store: st, Sessions: reg}
	accounts.EndSessions = func(accountID int64) {
		reg.SignOut(accountID, 0)
		a.EndSessions(accountID)
	}
	mux := http.NewServeMux()
	mux.Handle(api.Prefix, a.Handler())
	_ = http.ListenAndServeTLS // serve mux over TLS only: the cookie is Secure
}
