package postgres

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"

	"sealpost.dev/sealpost/internal/store"
)

// EnableTOTP turns 2-step verification on with its recovery codes.
func (s *Store) EnableTOTP(ctx context.Context, accountID int64, secret []byte, enabled time.Time, recoveryHashes [][]byte) error {
	if len(secret) == 0 {
		return fmt.Errorf("enable TOTP: empty secret: %w", store.ErrInvalid)
	}
	for _, h := range recoveryHashes {
		if len(h) == 0 {
			return fmt.Errorf("enable TOTP: empty recovery code hash: %w", store.ErrInvalid)
		}
	}
	what := fmt.Sprintf("enable TOTP of account %d", accountID)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO totp (account_id, secret, enabled) VALUES ($1, $2, $3)",
			accountID, secret, dbTime(enabled)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM recovery_codes WHERE account_id = $1", accountID); err != nil {
			return err
		}
		for _, h := range recoveryHashes {
			if _, err := tx.Exec(ctx, "INSERT INTO recovery_codes (account_id, code_hash) VALUES ($1, $2) ON CONFLICT DO NOTHING",
				accountID, h); err != nil {
				return err
			}
		}
		return nil
	})
	return mapErr(err, what, store.ErrNotFound)
}

// GetTOTP returns the account's TOTP state.
func (s *Store) GetTOTP(ctx context.Context, accountID int64) (store.TOTP, error) {
	var t store.TOTP
	err := s.pool.QueryRow(ctx, "SELECT secret, enabled, last_step FROM totp WHERE account_id = $1", accountID).
		Scan(&t.Secret, &t.Enabled, &t.LastStep)
	if err != nil {
		return store.TOTP{}, mapErr(err, fmt.Sprintf("TOTP of account %d", accountID), nil)
	}
	t.Enabled = t.Enabled.UTC()
	return t, nil
}

// DisableTOTP turns 2-step verification off.
func (s *Store) DisableTOTP(ctx context.Context, accountID int64) error {
	what := fmt.Sprintf("disable TOTP of account %d", accountID)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM totp WHERE account_id = $1", accountID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		_, err = tx.Exec(ctx, "DELETE FROM recovery_codes WHERE account_id = $1", accountID)
		return err
	})
	return mapErr(err, what, nil)
}

// UseTOTPStep moves the last used step forward, if step is after it.
func (s *Store) UseTOTPStep(ctx context.Context, accountID, step int64) (bool, error) {
	what := fmt.Sprintf("use TOTP step of account %d", accountID)
	var used bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// One statement decides and moves, so two racing callers cannot
		// both win the step.
		tag, err := tx.Exec(ctx, "UPDATE totp SET last_step = $2 WHERE account_id = $1 AND last_step < $2", accountID, step)
		if err != nil {
			return err
		}
		if used = tag.RowsAffected() > 0; used {
			return nil
		}
		var one int
		return tx.QueryRow(ctx, "SELECT 1 FROM totp WHERE account_id = $1", accountID).Scan(&one)
	})
	return used, mapErr(err, what, nil)
}

// UseRecoveryCode deletes a recovery code, reporting whether it was there.
func (s *Store) UseRecoveryCode(ctx context.Context, accountID int64, hash []byte) (bool, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM recovery_codes WHERE account_id = $1 AND code_hash = $2", accountID, hash)
	if err != nil {
		return false, mapErr(err, fmt.Sprintf("use recovery code of account %d", accountID), nil)
	}
	return tag.RowsAffected() > 0, nil
}

// CountRecoveryCodes counts the unused recovery codes.
func (s *Store) CountRecoveryCodes(ctx context.Context, accountID int64) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM recovery_codes WHERE account_id = $1", accountID).Scan(&n)
	return n, mapErr(err, fmt.Sprintf("count recovery codes of account %d", accountID), nil)
}

// CreateAppPassword stores an app password.
func (s *Store) CreateAppPassword(ctx context.Context, p store.NewAppPassword) (store.AppPassword, error) {
	scopes, err := store.CheckNewAppPassword(p)
	if err != nil {
		return store.AppPassword{}, err
	}
	created := now()
	if !p.Created.IsZero() {
		created = dbTime(p.Created)
	}
	a := store.AppPassword{AccountID: p.AccountID, Name: p.Name, Scopes: scopes, Hash: p.Hash, Created: created}
	err = s.pool.QueryRow(ctx, `INSERT INTO app_passwords (account_id, name, scopes, secret_hash, created)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		a.AccountID, a.Name, store.JoinScopes(scopes), a.Hash, a.Created).Scan(&a.ID)
	if err != nil {
		return store.AppPassword{}, mapErr(err, fmt.Sprintf("create app password %q of account %d", p.Name, p.AccountID), store.ErrNotFound)
	}
	return a, nil
}

const appPasswordCols = "id, account_id, name, scopes, secret_hash, created, last_used, host(last_ip)"

func scanAppPassword(row pgx.Row) (store.AppPassword, error) {
	var a store.AppPassword
	var scopes string
	var used *time.Time
	var ip *string
	if err := row.Scan(&a.ID, &a.AccountID, &a.Name, &scopes, &a.Hash, &a.Created, &used, &ip); err != nil {
		return store.AppPassword{}, err
	}
	a.Scopes, a.Created, a.LastUsed = store.SplitScopes(scopes), a.Created.UTC(), optTime(used)
	if ip != nil {
		a.LastIP, _ = netip.ParseAddr(*ip)
	}
	return a, nil
}

// ListAppPasswords returns the account's app passwords by ID.
func (s *Store) ListAppPasswords(ctx context.Context, accountID int64) ([]store.AppPassword, error) {
	what := fmt.Sprintf("app passwords of account %d", accountID)
	rows, err := s.pool.Query(ctx, "SELECT "+appPasswordCols+" FROM app_passwords WHERE account_id = $1 ORDER BY id", accountID)
	if err != nil {
		return nil, mapErr(err, what, nil)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AppPassword, error) { return scanAppPassword(r) })
	return out, mapErr(err, what, nil)
}

// FindAppPassword returns the account's app password with this hash.
func (s *Store) FindAppPassword(ctx context.Context, accountID int64, hash []byte) (store.AppPassword, error) {
	a, err := scanAppPassword(s.pool.QueryRow(ctx,
		"SELECT "+appPasswordCols+" FROM app_passwords WHERE account_id = $1 AND secret_hash = $2", accountID, hash))
	if err != nil {
		return store.AppPassword{}, mapErr(err, fmt.Sprintf("find app password of account %d", accountID), nil)
	}
	return a, nil
}

// TouchAppPassword records a use of an app password.
func (s *Store) TouchAppPassword(ctx context.Context, id int64, when time.Time, ip netip.Addr) error {
	var addr *string
	if ip.IsValid() {
		v := ip.WithZone("").String()
		addr = &v
	}
	tag, err := s.pool.Exec(ctx, "UPDATE app_passwords SET last_used = $2, last_ip = $3::inet WHERE id = $1", id, dbTime(when), addr)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return mapErr(err, fmt.Sprintf("touch app password %d", id), nil)
}

// DeleteAppPassword removes one of the account's app passwords.
func (s *Store) DeleteAppPassword(ctx context.Context, accountID, id int64) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM app_passwords WHERE account_id = $1 AND id = $2", accountID, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return mapErr(err, fmt.Sprintf("delete app password %d of account %d", id, accountID), nil)
}
