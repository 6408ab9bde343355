package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"sealpost.dev/sealpost/internal/store"
)

// notifyChannel is the channel migration 0005's trigger announces mailbox
// changes on.
const notifyChannel = "sealpost_mailbox"

// Bounds of the wait before reconnecting a lost LISTEN connection.
const (
	minListenBackoff = 100 * time.Millisecond
	maxListenBackoff = 30 * time.Second
)

var _ store.ChangeFeed = (*Store)(nil)

// WatchChanges listens on a connection of its own (a LISTEN needs one
// session for as long as it lasts, outside the pool) and calls fn for each
// change announced. When the connection fails it reconnects with a growing
// delay, and calls fn with the zero MailboxChange once it listens again:
// changes made meanwhile were not announced.
func (s *Store) WatchChanges(ctx context.Context, fn func(store.MailboxChange)) error {
	backoff := minListenBackoff
	lost := false
	for {
		err := s.listen(ctx, func() {
			backoff = minListenBackoff
			if lost {
				fn(store.MailboxChange{})
				lost = false
			}
		}, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		lost = true
		s.log.Warn("postgres: change feed lost; reconnecting", "err", err, "after", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(2*backoff, maxListenBackoff)
	}
}

// listen runs one LISTEN connection until it fails or ctx ends; ready is
// called once the LISTEN is in place.
func (s *Store) listen(ctx context.Context, ready func(), fn func(store.MailboxChange)) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ready()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait: %w", err)
		}
		if c, ok := parseChange(n.Payload); ok {
			fn(c)
		}
	}
}

// parseChange reads the trigger's payload, "mailbox_id account_id".
func parseChange(payload string) (store.MailboxChange, bool) {
	mb, acct, ok := strings.Cut(payload, " ")
	if !ok {
		return store.MailboxChange{}, false
	}
	m, err1 := strconv.ParseInt(mb, 10, 64)
	a, err2 := strconv.ParseInt(acct, 10, 64)
	if err1 != nil || err2 != nil || m <= 0 || a <= 0 {
		return store.MailboxChange{}, false
	}
	return store.MailboxChange{MailboxID: m, AccountID: a}, true
}
