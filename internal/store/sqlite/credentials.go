package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// EnableTOTP turns 2-step verification on with its recovery codes.
func (s *Store) EnableTOTP(ctx context.Context, accountID int64, secret []byte, enabled time.Time, recoveryHashes [][]byte) error {
	if err := checkTOTP(secret, recoveryHashes); err != nil {
		return err
	}
	what := fmt.Sprintf("enable TOTP of account %d", accountID)
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		if err := accountExists(ctx, tx, accountID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO totp(account_id, secret, enabled) VALUES (?, ?, ?)",
			accountID, secret, micros(enabled)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM recovery_codes WHERE account_id = ?", accountID); err != nil {
			return err
		}
		for _, h := range recoveryHashes {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO recovery_codes(account_id, code_hash) VALUES (?, ?)",
				accountID, h); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap(what, err)
}

// checkTOTP checks the arguments of EnableTOTP.
func checkTOTP(secret []byte, recoveryHashes [][]byte) error {
	if len(secret) == 0 {
		return fmt.Errorf("enable TOTP: empty secret: %w", store.ErrInvalid)
	}
	for _, h := range recoveryHashes {
		if len(h) == 0 {
			return fmt.Errorf("enable TOTP: empty recovery code hash: %w", store.ErrInvalid)
		}
	}
	return nil
}

// accountExists fails with ErrNotFound if there is no such account.
func accountExists(ctx context.Context, tx *sql.Tx, accountID int64) error {
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM accounts WHERE id = ?", accountID).Scan(&one)
	if err == sql.ErrNoRows {
		return fmt.Errorf("no account %d: %w", accountID, store.ErrNotFound)
	}
	return err
}

// GetTOTP returns the account's TOTP state.
func (s *Store) GetTOTP(ctx context.Context, accountID int64) (store.TOTP, error) {
	var t store.TOTP
	var enabled int64
	err := s.r.QueryRowContext(ctx, "SELECT secret, enabled, last_step FROM totp WHERE account_id = ?", accountID).
		Scan(&t.Secret, &enabled, &t.LastStep)
	if err != nil {
		return store.TOTP{}, wrap(fmt.Sprintf("TOTP of account %d", accountID), err)
	}
	t.Enabled = fromMicros(enabled)
	return t, nil
}

// DisableTOTP turns 2-step verification off.
func (s *Store) DisableTOTP(ctx context.Context, accountID int64) error {
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM totp WHERE account_id = ?", accountID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmp.Or(err, store.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM recovery_codes WHERE account_id = ?", accountID)
		return err
	})
	return wrap(fmt.Sprintf("disable TOTP of account %d", accountID), err)
}

// UseTOTPStep moves the last used step forward, if step is after it.
func (s *Store) UseTOTPStep(ctx context.Context, accountID, step int64) (bool, error) {
	var used bool
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		var last int64
		if err := tx.QueryRowContext(ctx, "SELECT last_step FROM totp WHERE account_id = ?", accountID).Scan(&last); err != nil {
			return err
		}
		if step <= last {
			return nil
		}
		used = true
		_, err := tx.ExecContext(ctx, "UPDATE totp SET last_step = ? WHERE account_id = ?", step, accountID)
		return err
	})
	return used, wrap(fmt.Sprintf("use TOTP step of account %d", accountID), err)
}

// UseRecoveryCode deletes a recovery code, reporting whether it was there.
func (s *Store) UseRecoveryCode(ctx context.Context, accountID int64, hash []byte) (bool, error) {
	var n int64
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM recovery_codes WHERE account_id = ? AND code_hash = ?", accountID, hash)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, wrap(fmt.Sprintf("use recovery code of account %d", accountID), err)
}

// CountRecoveryCodes counts the unused recovery codes.
func (s *Store) CountRecoveryCodes(ctx context.Context, accountID int64) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM recovery_codes WHERE account_id = ?", accountID).Scan(&n)
	return n, wrap(fmt.Sprintf("count recovery codes of account %d", accountID), err)
}

// CreateAppPassword stores an app password.
func (s *Store) CreateAppPassword(ctx context.Context, p store.NewAppPassword) (store.AppPassword, error) {
	scopes, err := store.CheckNewAppPassword(p)
	if err != nil {
		return store.AppPassword{}, err
	}
	if p.Created.IsZero() {
		p.Created = time.Now()
	}
	a := store.AppPassword{AccountID: p.AccountID, Name: p.Name, Scopes: scopes, Hash: p.Hash,
		Created: fromMicros(p.Created.UnixMicro())}
	err = s.write(ctx, false, func(tx *sql.Tx) error {
		if err := accountExists(ctx, tx, p.AccountID); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO app_passwords(account_id, name, scopes, secret_hash, created)
			VALUES (?, ?, ?, ?, ?) RETURNING id`,
			a.AccountID, a.Name, store.JoinScopes(scopes), a.Hash, micros(a.Created)).Scan(&a.ID)
	})
	if err != nil {
		return store.AppPassword{}, wrap(fmt.Sprintf("create app password %q of account %d", p.Name, p.AccountID), err)
	}
	return a, nil
}

const appPasswordCols = "id, account_id, name, scopes, secret_hash, created, last_used, last_ip"

func scanAppPassword(sc interface{ Scan(...any) error }) (store.AppPassword, error) {
	var a store.AppPassword
	var scopes, ip string
	var created, used int64
	if err := sc.Scan(&a.ID, &a.AccountID, &a.Name, &scopes, &a.Hash, &created, &used, &ip); err != nil {
		return store.AppPassword{}, err
	}
	a.Scopes, a.Created, a.LastUsed = store.SplitScopes(scopes), fromMicros(created), fromMicros(used)
	if ip != "" {
		a.LastIP, _ = netip.ParseAddr(ip)
	}
	return a, nil
}

// ListAppPasswords returns the account's app passwords by ID.
func (s *Store) ListAppPasswords(ctx context.Context, accountID int64) ([]store.AppPassword, error) {
	what := fmt.Sprintf("app passwords of account %d", accountID)
	rows, err := s.r.QueryContext(ctx, "SELECT "+appPasswordCols+" FROM app_passwords WHERE account_id = ? ORDER BY id", accountID)
	if err != nil {
		return nil, wrap(what, err)
	}
	defer rows.Close()
	var out []store.AppPassword
	for rows.Next() {
		a, err := scanAppPassword(rows)
		if err != nil {
			return nil, wrap(what, err)
		}
		out = append(out, a)
	}
	return out, wrap(what, rows.Err())
}

// FindAppPassword returns the account's app password with this hash.
func (s *Store) FindAppPassword(ctx context.Context, accountID int64, hash []byte) (store.AppPassword, error) {
	a, err := scanAppPassword(s.r.QueryRowContext(ctx,
		"SELECT "+appPasswordCols+" FROM app_passwords WHERE account_id = ? AND secret_hash = ?", accountID, hash))
	if err != nil {
		return store.AppPassword{}, wrap(fmt.Sprintf("find app password of account %d", accountID), err)
	}
	return a, nil
}

// TouchAppPassword records a use of an app password.
func (s *Store) TouchAppPassword(ctx context.Context, id int64, when time.Time, ip netip.Addr) error {
	addr := ""
	if ip.IsValid() {
		addr = ip.WithZone("").String()
	}
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE app_passwords SET last_used = ?, last_ip = ? WHERE id = ?", micros(when), addr, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmp.Or(err, store.ErrNotFound)
		}
		return nil
	})
	return wrap(fmt.Sprintf("touch app password %d", id), err)
}

// DeleteAppPassword removes one of the account's app passwords.
func (s *Store) DeleteAppPassword(ctx context.Context, accountID, id int64) error {
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM app_passwords WHERE account_id = ? AND id = ?", accountID, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmp.Or(err, store.ErrNotFound)
		}
		return nil
	})
	return wrap(fmt.Sprintf("delete app password %d of account %d", id, accountID), err)
}
