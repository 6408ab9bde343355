package admin

import (
	"os/user"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/store"
)

// TestAuditLog: a change through the socket leaves one audit entry naming
// the OS user who connected (as the kernel saw it), the change and its
// outcome; a refused change leaves a failed one; a read leaves none.
func TestAuditLog(t *testing.T) {
	f := newAPI(t)
	ctx := t.Context()
	entries := func() []store.LogEntry {
		es, err := f.accounts.Store.QueryLog(ctx, store.LogQuery{Kind: "admin"})
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	if _, err := f.client.Sessions(ctx, "ana@example.org"); err != nil {
		t.Fatal(err)
	}
	if es := entries(); len(es) != 0 {
		t.Fatalf("a read left audit entries: %+v", es)
	}
	if _, err := f.client.SignOut(ctx, "ana@example.org", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.SignOut(ctx, "nobody@example.org", 0); err == nil {
		t.Fatal("signing out no account worked")
	}
	es := entries()
	if len(es) != 2 {
		t.Fatalf("%d audit entries, want 2: %+v", len(es), es)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	failed, ok := es[0], es[1] // newest first
	if ok.Protocol != "admin-socket" || ok.Client != me.Username || ok.Outcome != "ok" ||
		ok.Detail != "POST /v1/signout: signed out ana@example.org, 3 session(s) ended, kept 0" {
		t.Errorf("sign-out entry: %+v", ok)
	}
	if failed.Outcome != "fail" || !strings.Contains(failed.Detail, `sign out "nobody@example.org"`) ||
		!strings.Contains(failed.Detail, "404") {
		t.Errorf("refused sign-out entry: %+v", failed)
	}
}
