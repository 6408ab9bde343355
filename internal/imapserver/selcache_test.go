package imapserver

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestSelectCache selects a mailbox again after every kind of change,
// made by another session or straight in the store, and checks what the
// SELECT says against the store.
func TestSelectCache(t *testing.T) {
	e := newEnv(t, Limits{}, 0)
	for range 20 {
		e.deliver(t, "Subject: more\r\n\r\nx\r\n")
	}
	a := e.connect(t, "imaps", true)
	other := e.connect(t, "starttls", true)
	other.expect("SELECT INBOX", "OK")
	check := func(what string) {
		t.Helper()
		msgs, err := e.st.ListMessages(t.Context(), e.inbox.ID, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		firstUnseen := 0
		for i, m := range msgs {
			want = append(want, fmt.Sprintf("* %d FETCH (UID %d)", i+1, m.UID))
			if firstUnseen == 0 && !slices.Contains(m.Flags, `\Seen`) {
				firstUnseen = i + 1
			}
		}
		u := a.expect("SELECT INBOX", "OK")
		joined := strings.Join(u, "\n")
		if !strings.Contains(joined, fmt.Sprintf("* %d EXISTS", len(msgs))) {
			t.Errorf("%s: SELECT %q, want %d EXISTS", what, u, len(msgs))
		}
		unseen := fmt.Sprintf("[UNSEEN %d]", firstUnseen)
		if (firstUnseen > 0) != strings.Contains(joined, unseen) || (firstUnseen == 0 && strings.Contains(joined, "[UNSEEN")) {
			t.Errorf("%s: SELECT %q, want %s", what, u, unseen)
		}
		if len(msgs) == 0 {
			return
		}
		got := a.expect("FETCH 1:* UID", "OK")
		if !slices.Equal(got, want) {
			t.Errorf("%s: FETCH 1:* UID = %q, want %q", what, got, want)
		}
	}
	check("first")
	check("unchanged")
	other.expect(`STORE 1:5 +FLAGS (\Seen)`, "OK")
	check("first five seen")
	other.expect(`STORE 3,7,8 +FLAGS (\Deleted)`, "OK")
	other.expect("EXPUNGE", "OK")
	check("expunged in the middle")
	e.deliver(t, "Subject: straight\r\n\r\nx\r\n")
	check("delivered in the store")
	other.expect(`STORE 1:* +FLAGS (\Seen)`, "OK")
	check("all seen")
	other.expect(`STORE 2 -FLAGS (\Seen)`, "OK")
	check("one unseen again")
	other.expect(`STORE 1:* +FLAGS (\Deleted)`, "OK")
	other.expect("EXPUNGE", "OK")
	check("emptied")
	e.deliver(t, "Subject: after\r\n\r\nx\r\n")
	check("one after emptying")
}
