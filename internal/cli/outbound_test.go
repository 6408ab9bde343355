package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/instance"
	"sealpost.dev/sealpost/internal/store"
)

// TestQueueHeldAndReleaseAccount holds an account in the store and checks
// that queue held lists it and queue release --account releases its mail.
func TestQueueHeldAndReleaseAccount(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	cfg, st := openTestInstance(t, dir)
	if _, err := st.CreateDomain(ctx, "example.org"); err != nil {
		t.Fatal(err)
	}
	ann, err := st.CreateAccount(ctx, store.NewAccount{Address: "ann@example.org", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	it, err := st.Enqueue(ctx, strings.NewReader("Subject: x\r\n\r\nx\r\n"), store.NewQueueItem{From: "ann@example.org",
		Recipients: []store.NewQueueRecipient{{Address: "bob@elsewhere.example"}}, Submitter: ann.ID, Held: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.HoldOutbound(ctx, ann.ID, "messages per minute over the limit: 21 > 20", time.Now()); err != nil {
		t.Fatal(err)
	}
	st.Close()

	code, out, stderr := run(t, "queue", "held", "--json", "--data", dir)
	var held []heldRow
	if code != 0 || json.Unmarshal([]byte(out), &held) != nil || len(held) != 1 ||
		held[0].Account != "ann@example.org" || !strings.Contains(held[0].Reason, "per minute") {
		t.Fatalf("queue held: %d %s %s", code, out, stderr)
	}
	if code, out, _ := run(t, "queue", "held", "--data", dir); code != 0 || !strings.Contains(out, "ann@example.org") {
		t.Errorf("queue held: %d %s", code, out)
	}
	for _, bad := range [][]string{
		{"queue", "release", "--account", "not an address", "--data", dir},
		{"queue", "release", "--account", "ann@example.org", "1", "--data", dir},
		{"queue", "release", "--account", "nobody@example.org", "--data", dir},
	} {
		if code, _, _ := run(t, bad...); code == 0 {
			t.Errorf("%q succeeded", bad)
		}
	}
	code, out, stderr = run(t, "queue", "release", "--data", dir, "--account", "ANN@example.org", "--json")
	var rel releaseRow
	if code != 0 || json.Unmarshal([]byte(out), &rel) != nil || rel != (releaseRow{"ann@example.org", 1}) {
		t.Fatalf("queue release --account: %d %s %s", code, out, stderr)
	}
	if code, _, stderr := run(t, "queue", "release", "--account=ann@example.org", "--data", dir); code == 0 || !strings.Contains(stderr, "not found") {
		t.Errorf("second release: %d %s", code, stderr)
	}
	if code, out, _ := run(t, "queue", "held", "--data", dir); code != 0 || !strings.Contains(out, "no account is held") {
		t.Errorf("queue held after release: %d %s", code, out)
	}
	st, err = instance.OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got, err := st.GetQueueItem(ctx, it.ID); err != nil || got.State != store.QueueReady {
		t.Errorf("item after release: %+v %v", got, err)
	}
	if log, err := st.QueryLog(ctx, store.LogQuery{AccountID: ann.ID, Kind: "outbound"}); err != nil || len(log) != 1 || log[0].Outcome != "released" {
		t.Errorf("log %+v %v", log, err)
	}
}
