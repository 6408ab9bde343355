package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"sealpost.dev/sealpost/internal/store"
)

const mailboxCols = "id, account_id, name, special_use, subscribed, uid_validity, uid_next, highest_modseq, messages, size, created"

func scanMailbox(r pgx.Row) (store.Mailbox, error) {
	var m store.Mailbox
	var validity, next, modseq int64
	err := r.Scan(&m.ID, &m.AccountID, &m.Name, &m.SpecialUse, &m.Subscribed,
		&validity, &next, &modseq, &m.Messages, &m.Size, &m.Created)
	m.UIDValidity, m.UIDNext, m.HighestModSeq = uint32(validity), uint32(next), uint64(modseq)
	m.Created = m.Created.UTC()
	return m, err
}

// createMailbox inserts a mailbox within tx. UIDVALIDITY comes from the
// column default, a database-wide sequence.
func createMailbox(ctx context.Context, tx pgx.Tx, accountID int64, nm store.NewMailbox) (store.Mailbox, error) {
	// A subscription left by a deleted mailbox of this name comes back.
	tag, err := tx.Exec(ctx, "DELETE FROM subscriptions WHERE account_id = $1 AND name = $2", accountID, nm.Name)
	if err != nil {
		return store.Mailbox{}, mapErr(err, "create mailbox "+nm.Name, nil)
	}
	if tag.RowsAffected() > 0 {
		nm.Subscribed = true
	}
	m, err := scanMailbox(tx.QueryRow(ctx, `INSERT INTO mailboxes (account_id, name, special_use, subscribed, created)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+mailboxCols,
		accountID, nm.Name, nm.SpecialUse, nm.Subscribed, now()))
	if err != nil {
		return store.Mailbox{}, mapErr(err, "create mailbox "+nm.Name, store.ErrNotFound)
	}
	return m, nil
}

// CreateMailbox creates a mailbox for an account.
func (s *Store) CreateMailbox(ctx context.Context, accountID int64, nm store.NewMailbox) (store.Mailbox, error) {
	var m store.Mailbox
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		m, err = createMailbox(ctx, tx, accountID, nm)
		return err
	})
	return m, err
}

// GetMailbox returns a mailbox of an account by its full name.
func (s *Store) GetMailbox(ctx context.Context, accountID int64, name string) (store.Mailbox, error) {
	m, err := scanMailbox(s.pool.QueryRow(ctx, "SELECT "+mailboxCols+" FROM mailboxes WHERE account_id = $1 AND name = $2", accountID, name))
	if err != nil {
		return store.Mailbox{}, mapErr(err, "mailbox "+name, nil)
	}
	return m, nil
}

// GetMailboxByID returns a mailbox by ID.
func (s *Store) GetMailboxByID(ctx context.Context, id int64) (store.Mailbox, error) {
	m, err := scanMailbox(s.pool.QueryRow(ctx, "SELECT "+mailboxCols+" FROM mailboxes WHERE id = $1", id))
	if err != nil {
		return store.Mailbox{}, mapErr(err, fmt.Sprintf("mailbox %d", id), nil)
	}
	return m, nil
}

// ListMailboxes lists an account's mailboxes by name.
func (s *Store) ListMailboxes(ctx context.Context, accountID int64) ([]store.Mailbox, error) {
	rows, _ := s.pool.Query(ctx, "SELECT "+mailboxCols+" FROM mailboxes WHERE account_id = $1 ORDER BY name", accountID)
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Mailbox, error) { return scanMailbox(r) })
	if err != nil {
		return nil, mapErr(err, "list mailboxes", nil)
	}
	return ms, nil
}

// RenameMailbox renames a mailbox and, as IMAP RENAME requires (RFC 9051
// section 6.3.6), its inferiors. UIDVALIDITY is kept.
func (s *Store) RenameMailbox(ctx context.Context, id int64, newName string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var accountID int64
		var old string
		err := tx.QueryRow(ctx, "SELECT account_id, name FROM mailboxes WHERE id = $1 FOR UPDATE", id).Scan(&accountID, &old)
		if err != nil {
			return mapErr(err, fmt.Sprintf("rename mailbox %d", id), nil)
		}
		if strings.HasPrefix(newName, old+"/") {
			return fmt.Errorf("rename mailbox: cannot move %q below itself to %q: %w", old, newName, store.ErrInvalid)
		}
		_, err = tx.Exec(ctx, `UPDATE mailboxes SET name = $3 || substr(name, length($2) + 1)
			WHERE account_id = $1 AND (name = $2 OR starts_with(name, $2 || '/'))`, accountID, old, newName)
		return mapErr(err, "rename mailbox "+old+" to "+newName, nil)
	})
}

// SetSubscribed subscribes or unsubscribes a mailbox.
func (s *Store) SetSubscribed(ctx context.Context, id int64, subscribed bool) error {
	tag, err := s.pool.Exec(ctx, "UPDATE mailboxes SET subscribed = $2 WHERE id = $1", id, subscribed)
	if err != nil {
		return mapErr(err, "subscribe", nil)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("subscribe mailbox %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// DeleteMailbox removes a mailbox and its messages. It fails with
// ErrNotEmpty while the mailbox has inferiors.
func (s *Store) DeleteMailbox(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var accountID, size int64
		var name string
		err := tx.QueryRow(ctx, "SELECT account_id, name, size FROM mailboxes WHERE id = $1 FOR UPDATE", id).Scan(&accountID, &name, &size)
		if err != nil {
			return mapErr(err, fmt.Sprintf("delete mailbox %d", id), nil)
		}
		var children bool
		err = tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM mailboxes WHERE account_id = $1 AND starts_with(name, $2 || '/'))",
			accountID, name).Scan(&children)
		if err != nil {
			return mapErr(err, "delete mailbox "+name, nil)
		}
		if children {
			return fmt.Errorf("delete mailbox %s: has inferiors: %w", name, store.ErrNotEmpty)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO subscriptions (account_id, name)
			SELECT account_id, name FROM mailboxes WHERE id = $1 AND subscribed ON CONFLICT DO NOTHING`, id); err != nil {
			return mapErr(err, "delete mailbox "+name, nil)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM mailboxes WHERE id = $1", id); err != nil {
			return mapErr(err, "delete mailbox "+name, nil)
		}
		_, err = tx.Exec(ctx, "UPDATE accounts SET used_bytes = used_bytes - $2 WHERE id = $1", accountID, size)
		return mapErr(err, "delete mailbox "+name, nil)
	})
}

// ClaimRecent raises the mailbox's recent mark to upTo and returns the
// mark it had. The row lock serialises concurrent claims, so each UID is
// claimed once.
func (s *Store) ClaimRecent(ctx context.Context, id int64, upTo uint32) (uint32, error) {
	var prev int64
	err := s.pool.QueryRow(ctx, "SELECT recent_uid FROM mailboxes WHERE id = $1", id).Scan(&prev)
	if err != nil || int64(upTo) <= prev {
		// Nothing to claim: the common SELECT takes no row lock.
		return uint32(prev), mapErr(err, fmt.Sprintf("recent of mailbox %d", id), nil)
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT recent_uid FROM mailboxes WHERE id = $1 FOR UPDATE", id).Scan(&prev); err != nil {
			return err
		}
		if int64(upTo) <= prev {
			return nil
		}
		_, err := tx.Exec(ctx, "UPDATE mailboxes SET recent_uid = $2 WHERE id = $1", id, int64(upTo))
		return err
	})
	return uint32(prev), mapErr(err, fmt.Sprintf("claim recent of mailbox %d", id), nil)
}

// SubscribedNames returns the subscribed names that are not mailboxes.
func (s *Store) SubscribedNames(ctx context.Context, accountID int64) ([]string, error) {
	rows, _ := s.pool.Query(ctx, "SELECT name FROM subscriptions WHERE account_id = $1 ORDER BY name", accountID)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, mapErr(err, "subscribed names", nil)
	}
	return names, nil
}

// SetNameSubscribed subscribes or unsubscribes a name that is not a
// mailbox.
func (s *Store) SetNameSubscribed(ctx context.Context, accountID int64, name string, subscribed bool) error {
	var err error
	if subscribed {
		_, err = s.pool.Exec(ctx, "INSERT INTO subscriptions (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING", accountID, name)
	} else {
		_, err = s.pool.Exec(ctx, "DELETE FROM subscriptions WHERE account_id = $1 AND name = $2", accountID, name)
	}
	return mapErr(err, "subscribe "+name, store.ErrNotFound)
}
