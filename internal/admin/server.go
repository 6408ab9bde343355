package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"sealpost.dev/sealpost/internal/account"
	"sealpost.dev/sealpost/internal/sessions"
	"sealpost.dev/sealpost/internal/store"
)

// maxBody bounds a request body; every request is a few short fields.
const maxBody = 4 << 10

// Server answers the admin API of a running server.
type Server struct {
	Accounts *account.Service
	Sessions *sessions.Registry
	Logger   *slog.Logger
}

// Handler returns the API's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/sessions", s.listSessions)
	mux.HandleFunc("POST /v1/signout", s.signOut)
	mux.HandleFunc("POST /v1/end-app-password", s.endAppPassword)
	mux.HandleFunc("/v1/sessions", wrongMethod("GET"))
	mux.HandleFunc("/v1/signout", wrongMethod("POST"))
	mux.HandleFunc("/v1/end-app-password", wrongMethod("POST"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path))
	})
	return s.audited(mux)
}

func wrongMethod(want string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", want)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, want))
	}
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	acct, ok := s.account(w, r, r.URL.Query().Get("account"))
	if !ok {
		return
	}
	list := SessionList{Account: acct.Address, Sessions: []Session{}}
	for _, i := range s.Sessions.List(acct.ID) {
		list.Sessions = append(list.Sessions, sessionOf(i))
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	req, err := DecodeSignOut(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	noteAudit(r, "sign out %q", truncate(req.Account, 254))
	acct, ok := s.account(w, r, req.Account)
	if !ok {
		return
	}
	if req.Keep != 0 && !s.isLive(acct.ID, req.Keep) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("session %d is not a live session of %s; nothing was signed out", req.Keep, acct.Address))
		return
	}
	n := s.Sessions.SignOut(acct.ID, req.Keep)
	noteAudit(r, "signed out %s, %d session(s) ended, kept %d", acct.Address, n, req.Keep)
	// The next login of a client whose session ended checks its password
	// in full.
	s.Accounts.ForgetLogins(acct.Address)
	s.log().Info("account signed out", "account", acct.Address, "ended", n, "kept", req.Keep)
	writeJSON(w, http.StatusOK, SignOutResult{Account: acct.Address, Ended: n, Kept: req.Keep})
}

// endAppPassword ends the sessions of a revoked app password: the
// command that revoked it runs in a process of its own.
func (s *Server) endAppPassword(w http.ResponseWriter, r *http.Request) {
	req, err := DecodeEndAppPassword(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	acct, ok := s.account(w, r, req.Account)
	if !ok {
		return
	}
	n := s.Sessions.EndAppPassword(acct.ID, req.AppPassword)
	s.log().Info("app password sessions ended", "account", acct.Address, "app_password", req.AppPassword, "ended", n)
	writeJSON(w, http.StatusOK, EndAppPasswordResult{Account: acct.Address, AppPassword: req.AppPassword, Ended: n})
}

func (s *Server) isLive(accountID int64, id uint64) bool {
	for _, i := range s.Sessions.List(accountID) {
		if i.ID == id {
			return true
		}
	}
	return false
}

// account finds the account an address names, answering the request
// itself when it cannot.
func (s *Server) account(w http.ResponseWriter, r *http.Request, address string) (store.Account, bool) {
	if address == "" {
		writeError(w, http.StatusBadRequest, "no account named: give its address")
		return store.Account{}, false
	}
	a, err := account.ParseAddress(address)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return store.Account{}, false
	}
	acct, err := s.Accounts.Store.GetAccount(r.Context(), a.String())
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no account %s", a))
		return store.Account{}, false
	case err != nil:
		s.log().Error("admin: looking up an account", "account", a.String(), "err", err)
		writeError(w, http.StatusInternalServerError, "looking up the account failed: "+err.Error())
		return store.Account{}, false
	}
	return acct, true
}

// DecodeSignOut reads a sign-out request: one JSON object with only the
// known fields, nothing after it. An empty body is refused: the account
// must be named.
func DecodeSignOut(r io.Reader) (SignOutRequest, error) {
	var req SignOutRequest
	if err := decodeBody(r, &req, `{"account": ADDRESS, "keep": SESSION_ID}`); err != nil {
		return SignOutRequest{}, err
	}
	if req.Account == "" {
		return SignOutRequest{}, errors.New(`request body: "account" is missing`)
	}
	return req, nil
}

// DecodeEndAppPassword reads a request to end an app password's
// sessions, by the rules of DecodeSignOut; the app password's ID is
// required.
func DecodeEndAppPassword(r io.Reader) (EndAppPasswordRequest, error) {
	var req EndAppPasswordRequest
	if err := decodeBody(r, &req, `{"account": ADDRESS, "app_password": ID}`); err != nil {
		return EndAppPasswordRequest{}, err
	}
	switch {
	case req.Account == "":
		return EndAppPasswordRequest{}, errors.New(`request body: "account" is missing`)
	case req.AppPassword <= 0:
		return EndAppPasswordRequest{}, errors.New(`request body: "app_password" must be an app password's ID, a whole number above 0`)
	}
	return req, nil
}

// decodeBody decodes the one JSON object of a request body into v,
// refusing unknown fields and anything after the object; want shows the
// shape expected, for the error about an empty body.
func decodeBody(r io.Reader, v any, want string) error {
	body, err := io.ReadAll(r)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return fmt.Errorf("request body larger than %d bytes", tooBig.Limit)
	}
	if err != nil {
		return fmt.Errorf("reading the request body: %w", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.New("empty request body: want " + want)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: %s", describeJSONError(err))
	}
	if dec.More() {
		return errors.New("request body: more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("request body: data after the JSON object")
	}
	return nil
}

// describeJSONError says what is wrong with a body in the words of its
// fields, not Go's types.
func describeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field == "keep":
		return `"keep" must be a session ID, a whole number above 0`
	case errors.As(err, &typeErr) && typeErr.Field == "app_password":
		return `"app_password" must be an app password's ID, a whole number above 0`
	case errors.As(err, &typeErr) && typeErr.Field == "account":
		return `"account" must be a string, the account's address`
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return "want a JSON object"
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("not JSON (at byte %d): %v", syntaxErr.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends early"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func (s *Server) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
