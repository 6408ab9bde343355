package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// changePoll is how often WatchChanges asks SQLite whether anything was
// committed.
const changePoll = 250 * time.Millisecond

var _ store.ChangeFeed = (*Store)(nil)

// mailboxState is what WatchChanges compares between two looks at a
// mailbox: any change to its messages moves highestModseq.
type mailboxState struct {
	account       int64
	highestModseq int64
	name          string
	subscribed    bool
}

// WatchChanges reports mailbox changes committed by any connection to the
// database: this process's own and those of other processes, such as the
// administration commands, which open the same file. It holds one
// read-only connection of its own and asks it every 250 ms for PRAGMA
// data_version, which changes when another connection has committed; only
// then does it read every mailbox's HIGHESTMODSEQ, name and subscription
// and report those that differ from its last look, including mailboxes
// created or deleted since.
func (s *Store) WatchChanges(ctx context.Context, fn func(store.MailboxChange)) error {
	db, err := sql.Open("sqlite", s.readDSN)
	if err != nil {
		return fmt.Errorf("sqlite: change feed: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: change feed: %w", err)
	}
	defer conn.Close()
	var version int64 = -1
	var last map[int64]mailboxState
	t := time.NewTicker(changePoll)
	defer t.Stop()
	for {
		if v, err := dataVersion(ctx, conn); err == nil && v != version {
			if now, err := mailboxStates(ctx, conn); err == nil {
				if last != nil {
					reportChanges(last, now, fn)
				}
				last, version = now, v
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func dataVersion(ctx context.Context, conn *sql.Conn) (int64, error) {
	var v int64
	err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v)
	return v, err
}

func mailboxStates(ctx context.Context, conn *sql.Conn) (map[int64]mailboxState, error) {
	rows, err := conn.QueryContext(ctx, "SELECT id, account_id, highest_modseq, name, subscribed FROM mailboxes")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[int64]mailboxState{}
	for rows.Next() {
		var id int64
		var st mailboxState
		if err := rows.Scan(&id, &st.account, &st.highestModseq, &st.name, &st.subscribed); err != nil {
			return nil, err
		}
		m[id] = st
	}
	return m, rows.Err()
}

// reportChanges calls fn for each mailbox that differs between before and
// after, or is in only one of them.
func reportChanges(before, after map[int64]mailboxState, fn func(store.MailboxChange)) {
	for id, st := range after {
		if old, ok := before[id]; !ok || old != st {
			fn(store.MailboxChange{MailboxID: id, AccountID: st.account})
		}
	}
	for id, st := range before {
		if _, ok := after[id]; !ok {
			fn(store.MailboxChange{MailboxID: id, AccountID: st.account})
		}
	}
}
