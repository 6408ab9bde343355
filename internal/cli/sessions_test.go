package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/instance"
	"sealpost.dev/sealpost/internal/server"
	"sealpost.dev/sealpost/internal/sessions"
)

// sessionsInstance returns a data directory, with a path short enough for
// the admin socket, holding the accounts ana@ and bo@example.org.
func sessionsInstance(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "spcli")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg, st := openTestInstance(t, dir)
	defer st.Close()
	svc := instance.Accounts(cfg, st)
	if _, err := svc.AddDomain(t.Context(), "example.org"); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"ana@example.org", "bo@example.org"} {
		if _, err := svc.AddAccount(t.Context(), a, "a long enough password", 0); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// cliCase is one command line and what it must do.
type cliCase struct {
	args []string
	code int
	want string // in stdout when code is 0, in stderr otherwise
}

func runCases(t *testing.T, dir string, cases []cliCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := run(t, append(tc.args, "--data", dir)...)
			got := out
			if tc.code != 0 {
				got = errOut
			}
			if code != tc.code || !strings.Contains(got, tc.want) {
				t.Errorf("exit %d, want %d; stdout %q, stderr %q; want %q", code, tc.code, out, errOut, tc.want)
			}
		})
	}
}

func TestAccountSessionsNoServer(t *testing.T) {
	dir := sessionsInstance(t)
	runCases(t, dir, []cliCase{
		{[]string{"account", "sessions", "Ana@example.org"}, 0, "no live sessions of ana@example.org: no server is running"},
		{[]string{"account", "sessions", "--json", "ana@example.org"}, 0, `"server_running": false`},
		{[]string{"account", "sessions", "ana@example.org", "--json"}, 0, `"sessions": []`},
		{[]string{"account", "signout", "ana@example.org"}, 0, "no server is running, so no session of ana@example.org was live; its remembered logins are forgotten"},
		{[]string{"account", "signout", "--json", "ana@example.org"}, 0, `"server_running": false`},
		{[]string{"account", "signout", "--keep", "3", "ana@example.org"}, 2, "session 3 is not live: no server is running"},
		{[]string{"account", "sessions", "nobody@example.org"}, 2, "account nobody@example.org"},
		{[]string{"account", "signout", "nobody@example.org"}, 2, "account nobody@example.org"},
		{[]string{"account", "sessions", "not an address"}, 2, "address"},
		{[]string{"account", "sessions"}, 2, "expected one account address, got 0"},
		{[]string{"account", "signout", "ana@example.org", "bo@example.org"}, 2, "expected one account address, got 2"},
		{[]string{"account", "signout", "--keep", "x", "ana@example.org"}, 2, "invalid value"},
		{[]string{"account", "list"}, 0, "ana@example.org"},
		{[]string{"account", "app-password", "add", "ana@example.org", "phone", "--scope", "imap"}, 0, "It is shown only now"},
		{[]string{"account", "app-password", "add", "ana@example.org", "laptop", "--scope", "smtp"}, 0, "It is shown only now"},
		{[]string{"account", "app-password", "revoke", "ana@example.org", "laptop"}, 0, "app password \"laptop\" (ID 2) of ana@example.org revoked\n"},
		{[]string{"account", "signout", "--revoke-app-passwords", "ana@example.org"}, 0, "1 app password(s) of ana@example.org revoked"},
		{[]string{"account", "app-password", "list", "ana@example.org"}, 0, "no app passwords"},
		{[]string{"account", "signout", "--revoke-app-passwords", "--json", "bo@example.org"}, 0, `"server_running": false`},
	})
}

func TestAccountSessionsWithServer(t *testing.T) {
	dir := sessionsInstance(t)
	cfg, err := instance.LoadConfig("", dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Hostname = "mail.example.org"
	cfg.TLS.Mode = config.TLSModeSelfSigned
	cfg.Listeners = config.Listeners{}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Options{Config: cfg, Resolver: dnsx.NewStub(dnsx.NewZone(), nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	ana, err := srv.Store().GetAccount(ctx, "ana@example.org")
	if err != nil {
		t.Fatal(err)
	}
	bo, _ := srv.Store().GetAccount(ctx, "bo@example.org")
	ended := map[string]chan struct{}{}
	add := func(name string, accountID int64, protocol string) uint64 {
		ch := make(chan struct{})
		ended[name] = ch
		id, _ := srv.Sessions().Add(sessions.Info{AccountID: accountID, Address: "x", Protocol: protocol,
			RemoteIP: netip.MustParseAddr("192.0.2.7"), Client: "client.example"}, func() { close(ch) })
		return id
	}
	keep := add("ana imap", ana.ID, "imap")
	add("ana pop3", ana.ID, "pop3")
	add("bo imap", bo.ID, "imap")

	runCases(t, dir, []cliCase{
		{[]string{"account", "sessions", "ana@example.org"}, 0, fmt.Sprintf("%d   imap      192.0.2.7  client.example  main", keep)},
		{[]string{"account", "sessions", "--json", "ana@example.org"}, 0, `"server_running": true`},
		{[]string{"account", "signout", "--keep", "999", "ana@example.org"}, 2, "session 999 is not a live session of ana@example.org; nothing was signed out"},
		{[]string{"account", "sessions", "nobody@example.org"}, 2, "no account nobody@example.org"},
		{[]string{"account", "signout", "--keep", fmt.Sprint(keep), "ana@example.org"}, 0,
			fmt.Sprintf("ana@example.org signed out: 1 session(s) ended, session %d kept", keep)},
	})
	wantEnded := map[string]bool{"ana pop3": true}
	for name, ch := range ended {
		select {
		case <-ch:
			if !wantEnded[name] {
				t.Errorf("session %s ended", name)
			}
		case <-time.After(10 * time.Millisecond):
			if wantEnded[name] {
				t.Errorf("session %s not ended", name)
			}
		}
	}
	code, out, errOut := run(t, "account", "signout", "--json", "ana@example.org", "--data", dir)
	var res struct {
		Ended         int  `json:"ended"`
		ServerRunning bool `json:"server_running"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Ended != 1 || !res.ServerRunning {
		t.Errorf("signout --json: exit %d, %q %q", code, out, errOut)
	}
	code, out, _ = run(t, "account", "sessions", "--json", "ana@example.org", "--data", dir)
	var list struct {
		Sessions []json.RawMessage `json:"sessions"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || list.Sessions == nil || len(list.Sessions) != 0 {
		t.Errorf("sessions after signing out all: exit %d %q", code, out)
	}
	if len(srv.Sessions().List(bo.ID)) != 1 {
		t.Error("bo's session was touched")
	}
}
