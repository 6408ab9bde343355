package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// nextUIDValidity hands out UIDVALIDITY values from one counter for the
// whole database: the current time in seconds, or one more than the last
// value if that is greater. A mailbox deleted and created again, even in a
// deleted and re-created account, therefore gets a greater value, and
// values stay unique even if the clock goes back.
func nextUIDValidity(ctx context.Context, tx *sql.Tx) (uint32, error) {
	var v int64
	err := tx.QueryRowContext(ctx, `INSERT INTO meta(key, value) VALUES ('uidvalidity', ?1)
		ON CONFLICT(key) DO UPDATE SET value = MAX(value + 1, ?1) RETURNING value`, time.Now().Unix()).Scan(&v)
	if err != nil {
		return 0, err
	}
	if v <= 0 || v > math.MaxUint32 {
		return 0, fmt.Errorf("sqlite: UIDVALIDITY space exhausted (%d)", v)
	}
	return uint32(v), nil
}

func createMailbox(ctx context.Context, tx *sql.Tx, accountID int64, m store.NewMailbox) (store.Mailbox, error) {
	uv, err := nextUIDValidity(ctx, tx)
	if err != nil {
		return store.Mailbox{}, err
	}
	// A subscription left by a deleted mailbox of this name comes back.
	res, err := tx.ExecContext(ctx, "DELETE FROM subscriptions WHERE account_id = ? AND name = ?", accountID, m.Name)
	if err != nil {
		return store.Mailbox{}, err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		m.Subscribed = true
	}
	mb := store.Mailbox{
		AccountID:   accountID,
		Name:        m.Name,
		SpecialUse:  m.SpecialUse,
		Subscribed:  m.Subscribed,
		UIDValidity: uv,
		UIDNext:     1,
		Created:     fromMicros(time.Now().UnixMicro()),
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO mailboxes(account_id, name, special_use, subscribed, uidvalidity, created)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		accountID, m.Name, m.SpecialUse, boolInt(m.Subscribed), uv, micros(mb.Created)).Scan(&mb.ID)
	if isForeignKey(err) {
		return mb, fmt.Errorf("account %d: %w", accountID, store.ErrNotFound)
	}
	return mb, err
}

// CreateMailbox creates a mailbox with a fresh UIDVALIDITY.
func (s *Store) CreateMailbox(ctx context.Context, accountID int64, m store.NewMailbox) (store.Mailbox, error) {
	var mb store.Mailbox
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		var err error
		mb, err = createMailbox(ctx, tx, accountID, m)
		return err
	})
	return mb, wrap("create mailbox "+m.Name, err)
}

const mailboxCols = "id, account_id, name, special_use, subscribed, uidvalidity, uidnext, highest_modseq, messages, size, created"

func scanMailbox(sc interface{ Scan(...any) error }) (store.Mailbox, error) {
	var mb store.Mailbox
	var created int64
	err := sc.Scan(&mb.ID, &mb.AccountID, &mb.Name, &mb.SpecialUse, &mb.Subscribed, &mb.UIDValidity,
		&mb.UIDNext, &mb.HighestModSeq, &mb.Messages, &mb.Size, &created)
	mb.Created = fromMicros(created)
	return mb, err
}

// GetMailbox returns an account's mailbox by name.
func (s *Store) GetMailbox(ctx context.Context, accountID int64, name string) (store.Mailbox, error) {
	mb, err := scanMailbox(s.r.QueryRowContext(ctx,
		"SELECT "+mailboxCols+" FROM mailboxes WHERE account_id = ? AND name = ?", accountID, name))
	return mb, wrap("mailbox "+name, err)
}

// GetMailboxByID returns a mailbox by ID.
func (s *Store) GetMailboxByID(ctx context.Context, id int64) (store.Mailbox, error) {
	mb, err := scanMailbox(s.r.QueryRowContext(ctx, "SELECT "+mailboxCols+" FROM mailboxes WHERE id = ?", id))
	return mb, wrap(fmt.Sprintf("mailbox %d", id), err)
}

// ListMailboxes lists an account's mailboxes by name.
func (s *Store) ListMailboxes(ctx context.Context, accountID int64) ([]store.Mailbox, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+mailboxCols+" FROM mailboxes WHERE account_id = ? ORDER BY name", accountID)
	if err != nil {
		return nil, wrap("list mailboxes", err)
	}
	defer rows.Close()
	var mbs []store.Mailbox
	for rows.Next() {
		mb, err := scanMailbox(rows)
		if err != nil {
			return nil, wrap("list mailboxes", err)
		}
		mbs = append(mbs, mb)
	}
	return mbs, wrap("list mailboxes", rows.Err())
}

// RenameMailbox renames a mailbox and the mailboxes below it, keeping their
// UIDVALIDITY.
func (s *Store) RenameMailbox(ctx context.Context, id int64, newName string) error {
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		var accountID int64
		var old string
		err := tx.QueryRowContext(ctx, "SELECT account_id, name FROM mailboxes WHERE id = ?", id).Scan(&accountID, &old)
		if err != nil {
			return err
		}
		if strings.HasPrefix(newName, old+"/") {
			return fmt.Errorf("cannot move %q below itself to %q: %w", old, newName, store.ErrInvalid)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE mailboxes SET name = ? WHERE id = ?", newName, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE mailboxes SET name = ?1 || substr(name, length(?2) + 1)
			WHERE account_id = ?3 AND substr(name, 1, length(?2) + 1) = ?2 || '/'`, newName, old, accountID)
		return err
	})
	return wrap("rename mailbox", err)
}

// SetSubscribed sets a mailbox's subscription.
func (s *Store) SetSubscribed(ctx context.Context, id int64, subscribed bool) error {
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE mailboxes SET subscribed = ? WHERE id = ?", boolInt(subscribed), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	return wrap("subscribe mailbox", err)
}

// DeleteMailbox removes a mailbox without children, with its messages.
func (s *Store) DeleteMailbox(ctx context.Context, id int64) error {
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		var accountID, size int64
		var name string
		err := tx.QueryRowContext(ctx, "SELECT account_id, name, size FROM mailboxes WHERE id = ?", id).Scan(&accountID, &name, &size)
		if err != nil {
			return err
		}
		var children bool
		err = tx.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM mailboxes
			WHERE account_id = ?1 AND substr(name, 1, length(?2) + 1) = ?2 || '/')`, accountID, name).Scan(&children)
		if err != nil {
			return err
		}
		if children {
			return fmt.Errorf("%q has children: %w", name, store.ErrNotEmpty)
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO subscriptions(account_id, name)
			SELECT account_id, name FROM mailboxes WHERE id = ? AND subscribed`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM mailboxes WHERE id = ?", id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE accounts SET used_bytes = used_bytes - ? WHERE id = ?", size, accountID)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	return wrap(fmt.Sprintf("delete mailbox %d", id), err)
}

// ClaimRecent raises the mailbox's recent mark to upTo and returns the
// mark it had.
func (s *Store) ClaimRecent(ctx context.Context, id int64, upTo uint32) (uint32, error) {
	var prev uint32
	err := s.r.QueryRowContext(ctx, "SELECT recent_uid FROM mailboxes WHERE id = ?", id).Scan(&prev)
	if err != nil || upTo <= prev {
		// Nothing to claim: the common SELECT takes no write lock.
		return prev, wrap(fmt.Sprintf("recent of mailbox %d", id), err)
	}
	err = s.write(ctx, false, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, "SELECT recent_uid FROM mailboxes WHERE id = ?", id).Scan(&prev); err != nil {
			return err
		}
		if upTo <= prev {
			return nil
		}
		_, err := tx.ExecContext(ctx, "UPDATE mailboxes SET recent_uid = ? WHERE id = ?", upTo, id)
		return err
	})
	return prev, wrap(fmt.Sprintf("claim recent of mailbox %d", id), err)
}

// SubscribedNames returns the subscribed names that are not mailboxes.
func (s *Store) SubscribedNames(ctx context.Context, accountID int64) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name", accountID)
	if err != nil {
		return nil, wrap("subscribed names", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, wrap("subscribed names", err)
		}
		names = append(names, n)
	}
	return names, wrap("subscribed names", rows.Err())
}

// SetNameSubscribed subscribes or unsubscribes a name that is not a
// mailbox.
func (s *Store) SetNameSubscribed(ctx context.Context, accountID int64, name string, subscribed bool) error {
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		if !subscribed {
			_, err := tx.ExecContext(ctx, "DELETE FROM subscriptions WHERE account_id = ? AND name = ?", accountID, name)
			return err
		}
		_, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO subscriptions(account_id, name) VALUES (?, ?)", accountID, name)
		if isForeignKey(err) {
			return fmt.Errorf("account %d: %w", accountID, store.ErrNotFound)
		}
		return err
	})
	return wrap("subscribe "+name, err)
}
