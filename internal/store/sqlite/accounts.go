package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// CreateDomain adds a hosted domain.
func (s *Store) CreateDomain(ctx context.Context, name string) (store.Domain, error) {
	d := store.Domain{Name: name, Created: fromMicros(time.Now().UnixMicro())}
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, "INSERT INTO domains(name, created) VALUES (?, ?) RETURNING id",
			name, micros(d.Created)).Scan(&d.ID)
	})
	return d, wrap("create domain "+name, err)
}

// GetDomain returns a domain by name.
func (s *Store) GetDomain(ctx context.Context, name string) (store.Domain, error) {
	var d store.Domain
	var created int64
	err := s.r.QueryRowContext(ctx, "SELECT id, name, created FROM domains WHERE name = ?", name).
		Scan(&d.ID, &d.Name, &created)
	d.Created = fromMicros(created)
	return d, wrap("domain "+name, err)
}

// ListDomains returns all domains by name.
func (s *Store) ListDomains(ctx context.Context) ([]store.Domain, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT id, name, created FROM domains ORDER BY name")
	if err != nil {
		return nil, wrap("list domains", err)
	}
	defer rows.Close()
	var ds []store.Domain
	for rows.Next() {
		var d store.Domain
		var created int64
		if err := rows.Scan(&d.ID, &d.Name, &created); err != nil {
			return nil, wrap("list domains", err)
		}
		d.Created = fromMicros(created)
		ds = append(ds, d)
	}
	return ds, wrap("list domains", rows.Err())
}

// DeleteDomain removes a domain that has no accounts and no aliases.
func (s *Store) DeleteDomain(ctx context.Context, name string) error {
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		var id int64
		var used bool
		err := tx.QueryRowContext(ctx, `SELECT id,
			EXISTS(SELECT 1 FROM accounts WHERE domain_id = domains.id) OR
			EXISTS(SELECT 1 FROM aliases WHERE domain_id = domains.id)
			FROM domains WHERE name = ?`, name).Scan(&id, &used)
		if err != nil {
			return err
		}
		if used {
			return store.ErrNotEmpty
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM domains WHERE id = ?", id)
		if isForeignKey(err) {
			return store.ErrNotEmpty
		}
		return err
	})
	return wrap("delete domain "+name, err)
}

// claimAddress checks, inside a write transaction, that address is free in
// the namespace accounts and aliases share, and returns the ID of its domain.
func claimAddress(ctx context.Context, tx *sql.Tx, address string) (domainID int64, err error) {
	dom, err := store.DomainOf(address)
	if err != nil {
		return 0, err
	}
	var taken bool
	err = tx.QueryRowContext(ctx, `SELECT id,
		EXISTS(SELECT 1 FROM accounts WHERE address = ?1) OR EXISTS(SELECT 1 FROM aliases WHERE address = ?1)
		FROM domains WHERE name = ?2`, address, dom).Scan(&domainID, &taken)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("domain %s: %w", dom, store.ErrNotFound)
	}
	if err != nil {
		return 0, err
	}
	if taken {
		return 0, store.ErrExists
	}
	return domainID, nil
}

// CreateAccount creates an account and its initial mailboxes.
func (s *Store) CreateAccount(ctx context.Context, na store.NewAccount) (store.Account, error) {
	if err := store.CheckQuota(na.QuotaBytes); err != nil {
		return store.Account{}, fmt.Errorf("create account %s: %w", na.Address, err)
	}
	a := store.Account{
		Address:      na.Address,
		PasswordHash: na.PasswordHash,
		QuotaBytes:   na.QuotaBytes,
		Created:      fromMicros(time.Now().UnixMicro()),
	}
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		var err error
		if a.DomainID, err = claimAddress(ctx, tx, na.Address); err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO accounts(domain_id, address, password_hash, quota_bytes, created)
			VALUES (?, ?, ?, ?, ?) RETURNING id`,
			a.DomainID, a.Address, a.PasswordHash, a.QuotaBytes, micros(a.Created)).Scan(&a.ID)
		if err != nil {
			return err
		}
		for _, m := range na.Mailboxes {
			if _, err := createMailbox(ctx, tx, a.ID, m); err != nil {
				return fmt.Errorf("mailbox %q: %w", m.Name, err)
			}
		}
		return nil
	})
	return a, wrap("create account "+na.Address, err)
}

const accountCols = "id, domain_id, address, password_hash, quota_bytes, used_bytes, disabled, created"

func scanAccount(sc interface{ Scan(...any) error }) (store.Account, error) {
	var a store.Account
	var created int64
	err := sc.Scan(&a.ID, &a.DomainID, &a.Address, &a.PasswordHash, &a.QuotaBytes, &a.UsedBytes, &a.Disabled, &created)
	a.Created = fromMicros(created)
	return a, err
}

// GetAccount returns an account by address.
func (s *Store) GetAccount(ctx context.Context, address string) (store.Account, error) {
	a, err := scanAccount(s.r.QueryRowContext(ctx, "SELECT "+accountCols+" FROM accounts WHERE address = ?", address))
	return a, wrap("account "+address, err)
}

// GetAccountByID returns an account by ID.
func (s *Store) GetAccountByID(ctx context.Context, id int64) (store.Account, error) {
	a, err := scanAccount(s.r.QueryRowContext(ctx, "SELECT "+accountCols+" FROM accounts WHERE id = ?", id))
	return a, wrap(fmt.Sprintf("account %d", id), err)
}

// ListAccounts lists the accounts of a domain, or all, by address.
func (s *Store) ListAccounts(ctx context.Context, domain string) ([]store.Account, error) {
	q := "SELECT " + accountCols + " FROM accounts ORDER BY address"
	var args []any
	if domain != "" {
		q = "SELECT " + accountCols + " FROM accounts WHERE domain_id = (SELECT id FROM domains WHERE name = ?) ORDER BY address"
		args = append(args, domain)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("list accounts", err)
	}
	defer rows.Close()
	var as []store.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, wrap("list accounts", err)
		}
		as = append(as, a)
	}
	return as, wrap("list accounts", rows.Err())
}

// updateAccount runs an UPDATE on one account by address, ErrNotFound if
// there is none.
func (s *Store) updateAccount(ctx context.Context, what, address, set string, arg any) error {
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE accounts SET "+set+" = ? WHERE address = ?", arg, address)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	return wrap(what+" "+address, err)
}

// SetPasswordHash replaces an account's password hash.
func (s *Store) SetPasswordHash(ctx context.Context, address, hash string) error {
	return s.updateAccount(ctx, "set password", address, "password_hash", hash)
}

// SetQuota sets an account's quota; 0 is unlimited.
func (s *Store) SetQuota(ctx context.Context, address string, quotaBytes int64) error {
	if err := store.CheckQuota(quotaBytes); err != nil {
		return fmt.Errorf("set quota %s: %w", address, err)
	}
	return s.updateAccount(ctx, "set quota", address, "quota_bytes", quotaBytes)
}

// SetDisabled disables or enables an account.
func (s *Store) SetDisabled(ctx context.Context, address string, disabled bool) error {
	return s.updateAccount(ctx, "set disabled", address, "disabled", boolInt(disabled))
}

// DeleteAccount removes an account with its mailboxes and messages; bodies
// no longer referenced are removed after the commit.
func (s *Store) DeleteAccount(ctx context.Context, address string) error {
	err := s.write(ctx, true, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM accounts WHERE address = ?", address)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	return wrap("delete account "+address, err)
}

// CreateAlias creates an alias; address "@domain" is the domain's catch-all.
func (s *Store) CreateAlias(ctx context.Context, address string, targets []string) (store.Alias, error) {
	al := store.Alias{Address: address, Targets: append([]string(nil), targets...), Created: fromMicros(time.Now().UnixMicro())}
	tj, err := json.Marshal(al.Targets)
	if err != nil {
		return store.Alias{}, err
	}
	err = s.write(ctx, false, func(tx *sql.Tx) error {
		domainID, err := claimAddress(ctx, tx, address)
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "INSERT INTO aliases(domain_id, address, targets, created) VALUES (?, ?, ?, ?) RETURNING id",
			domainID, address, string(tj), micros(al.Created)).Scan(&al.ID)
	})
	return al, wrap("create alias "+address, err)
}

func scanAlias(sc interface{ Scan(...any) error }) (store.Alias, error) {
	var al store.Alias
	var targets string
	var created int64
	if err := sc.Scan(&al.ID, &al.Address, &targets, &created); err != nil {
		return al, err
	}
	al.Created = fromMicros(created)
	return al, json.Unmarshal([]byte(targets), &al.Targets)
}

// GetAlias returns an alias by address.
func (s *Store) GetAlias(ctx context.Context, address string) (store.Alias, error) {
	al, err := scanAlias(s.r.QueryRowContext(ctx, "SELECT id, address, targets, created FROM aliases WHERE address = ?", address))
	return al, wrap("alias "+address, err)
}

// ListAliases lists the aliases of a domain, or all, by address.
func (s *Store) ListAliases(ctx context.Context, domain string) ([]store.Alias, error) {
	q := "SELECT id, address, targets, created FROM aliases ORDER BY address"
	var args []any
	if domain != "" {
		q = "SELECT id, address, targets, created FROM aliases WHERE domain_id = (SELECT id FROM domains WHERE name = ?) ORDER BY address"
		args = append(args, domain)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("list aliases", err)
	}
	defer rows.Close()
	var als []store.Alias
	for rows.Next() {
		al, err := scanAlias(rows)
		if err != nil {
			return nil, wrap("list aliases", err)
		}
		als = append(als, al)
	}
	return als, wrap("list aliases", rows.Err())
}

// DeleteAlias removes an alias.
func (s *Store) DeleteAlias(ctx context.Context, address string) error {
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM aliases WHERE address = ?", address)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	return wrap("delete alias "+address, err)
}
