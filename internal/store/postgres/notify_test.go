package postgres

import (
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/storetest"
)

func TestChangeFeed(t *testing.T) {
	storetest.ChangeFeed(t, func(t *testing.T) (store.Store, store.Store) {
		dsn := freshDatabase(t)
		return openAt(t, dsn), openAt(t, dsn)
	})
}

func TestWatchChangesReconnects(t *testing.T) {
	dsn := freshDatabase(t)
	s := openAt(t, dsn)
	acct, inbox, archive := setup(t, s, 0)
	ctx := t.Context()
	f := storetest.WatchFeed(t, s)
	f.Ready(t, func() {
		if err := s.SetSubscribed(ctx, archive.ID, !archive.Subscribed); err != nil {
			t.Fatal(err)
		}
		archive.Subscribed = !archive.Subscribed
	})
	// End the listening session from the server side, as a restart would.
	tag, err := s.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`)
	if err != nil {
		t.Fatal(err)
	}
	if tag.RowsAffected() != 1 {
		t.Fatalf("terminated %d listening sessions, want 1", tag.RowsAffected())
	}
	f.Expect(t, "reconnect", store.MailboxChange{})
	if _, err := s.Deliver(ctx, strings.NewReader("Subject: again\r\n\r\nbody\r\n"), []store.Target{{MailboxID: inbox.ID}}); err != nil {
		t.Fatal(err)
	}
	f.Expect(t, "Deliver after reconnect", store.MailboxChange{MailboxID: inbox.ID, AccountID: acct.ID})
}

func TestParseChange(t *testing.T) {
	tests := []struct {
		in   string
		want store.MailboxChange
		ok   bool
	}{
		{"12 3", store.MailboxChange{MailboxID: 12, AccountID: 3}, true},
		{"12", store.MailboxChange{}, false},
		{"", store.MailboxChange{}, false},
		{"x 3", store.MailboxChange{}, false},
		{"12 -3", store.MailboxChange{}, false},
		{"0 3", store.MailboxChange{}, false},
		{"12 3 4", store.MailboxChange{}, false},
		{"99999999999999999999 1", store.MailboxChange{}, false},
	}
	for _, tt := range tests {
		got, ok := parseChange(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseChange(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
