package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"sealpost.dev/sealpost/internal/store"
)

// CreateDomain adds a hosted domain.
func (s *Store) CreateDomain(ctx context.Context, name string) (store.Domain, error) {
	d := store.Domain{Name: name, Created: now()}
	err := s.pool.QueryRow(ctx, "INSERT INTO domains (name, created) VALUES ($1, $2) RETURNING id",
		d.Name, d.Created).Scan(&d.ID)
	if err != nil {
		return store.Domain{}, mapErr(err, "create domain "+d.Name, nil)
	}
	return d, nil
}

// GetDomain returns a hosted domain by name.
func (s *Store) GetDomain(ctx context.Context, name string) (store.Domain, error) {
	var d store.Domain
	err := s.pool.QueryRow(ctx, "SELECT id, name, created FROM domains WHERE name = $1",
		name).Scan(&d.ID, &d.Name, &d.Created)
	if err != nil {
		return store.Domain{}, mapErr(err, "domain "+name, nil)
	}
	d.Created = d.Created.UTC()
	return d, nil
}

// ListDomains lists hosted domains by name.
func (s *Store) ListDomains(ctx context.Context) ([]store.Domain, error) {
	rows, _ := s.pool.Query(ctx, "SELECT id, name, created FROM domains ORDER BY name")
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Domain, error) {
		var d store.Domain
		err := r.Scan(&d.ID, &d.Name, &d.Created)
		d.Created = d.Created.UTC()
		return d, err
	})
	if err != nil {
		return nil, mapErr(err, "list domains", nil)
	}
	return ds, nil
}

// DeleteDomain removes a domain that has no accounts or aliases left.
func (s *Store) DeleteDomain(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM domains WHERE name = $1", name)
	if err != nil {
		return mapErr(err, "delete domain "+name, store.ErrNotEmpty)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete domain %s: %w", name, store.ErrNotFound)
	}
	return nil
}

// claimAddress reserves address in the shared account/alias namespace and
// returns the ID of its domain.
func claimAddress(ctx context.Context, tx pgx.Tx, address string) (int64, error) {
	domain, err := store.DomainOf(address)
	if err != nil {
		return 0, err
	}
	var domainID int64
	err = tx.QueryRow(ctx, "SELECT id FROM domains WHERE name = $1", domain).Scan(&domainID)
	if err != nil {
		return 0, mapErr(err, "domain "+domain, nil)
	}
	_, err = tx.Exec(ctx, "INSERT INTO addresses (address, domain_id) VALUES ($1, $2)", address, domainID)
	if err != nil {
		return 0, mapErr(err, "address "+address, store.ErrNotFound)
	}
	return domainID, nil
}

// CreateAccount creates an account with its initial mailboxes.
func (s *Store) CreateAccount(ctx context.Context, na store.NewAccount) (store.Account, error) {
	if err := store.CheckQuota(na.QuotaBytes); err != nil {
		return store.Account{}, fmt.Errorf("create account %s: %w", na.Address, err)
	}
	var a store.Account
	err := s.tx(ctx, func(tx pgx.Tx) error {
		a = store.Account{
			Address:      na.Address,
			PasswordHash: na.PasswordHash,
			QuotaBytes:   na.QuotaBytes,
			Created:      now(),
		}
		var err error
		if a.DomainID, err = claimAddress(ctx, tx, a.Address); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `INSERT INTO accounts (domain_id, address, password_hash, quota_bytes, created)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			a.DomainID, a.Address, a.PasswordHash, a.QuotaBytes, a.Created).Scan(&a.ID)
		if err != nil {
			return mapErr(err, "create account "+a.Address, store.ErrNotFound)
		}
		for _, m := range na.Mailboxes {
			if _, err := createMailbox(ctx, tx, a.ID, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.Account{}, err
	}
	return a, nil
}

const accountCols = "id, domain_id, address, password_hash, quota_bytes, used_bytes, disabled, created"

func scanAccount(r pgx.Row) (store.Account, error) {
	var a store.Account
	err := r.Scan(&a.ID, &a.DomainID, &a.Address, &a.PasswordHash, &a.QuotaBytes, &a.UsedBytes, &a.Disabled, &a.Created)
	a.Created = a.Created.UTC()
	return a, err
}

// GetAccount returns an account by address.
func (s *Store) GetAccount(ctx context.Context, address string) (store.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE address = $1", address))
	if err != nil {
		return store.Account{}, mapErr(err, "account "+address, nil)
	}
	return a, nil
}

// GetAccountByID returns an account by ID.
func (s *Store) GetAccountByID(ctx context.Context, id int64) (store.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE id = $1", id))
	if err != nil {
		return store.Account{}, mapErr(err, fmt.Sprintf("account %d", id), nil)
	}
	return a, nil
}

// ListAccounts lists the accounts of domain (all if domain is "") by
// address.
func (s *Store) ListAccounts(ctx context.Context, domain string) ([]store.Account, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+accountCols+` FROM accounts
		WHERE $1 = '' OR domain_id = (SELECT id FROM domains WHERE name = $1)
		ORDER BY address`, domain)
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Account, error) { return scanAccount(r) })
	if err != nil {
		return nil, mapErr(err, "list accounts", nil)
	}
	return as, nil
}

// updateAccount runs an UPDATE on one account by address and reports
// ErrNotFound when no row matched.
func (s *Store) updateAccount(ctx context.Context, what, address, set string, arg any) error {
	tag, err := s.pool.Exec(ctx, "UPDATE accounts SET "+set+" = $2 WHERE address = $1", address, arg)
	if err != nil {
		return mapErr(err, what+" "+address, nil)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s %s: %w", what, address, store.ErrNotFound)
	}
	return nil
}

// SetPasswordHash replaces an account's password hash.
func (s *Store) SetPasswordHash(ctx context.Context, address, hash string) error {
	return s.updateAccount(ctx, "set password", address, "password_hash", hash)
}

// SetQuota sets an account's quota; 0 means unlimited.
func (s *Store) SetQuota(ctx context.Context, address string, quotaBytes int64) error {
	if err := store.CheckQuota(quotaBytes); err != nil {
		return fmt.Errorf("set quota %s: %w", address, err)
	}
	return s.updateAccount(ctx, "set quota", address, "quota_bytes", quotaBytes)
}

// SetDisabled disables or enables an account.
func (s *Store) SetDisabled(ctx context.Context, address string, disabled bool) error {
	return s.updateAccount(ctx, "set disabled", address, "disabled", disabled)
}

// DeleteAccount removes an account with its mailboxes and messages; the
// bodies no other row uses go with them.
func (s *Store) DeleteAccount(ctx context.Context, address string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM accounts WHERE address = $1", address)
		if err != nil {
			return mapErr(err, "delete account "+address, nil)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("delete account %s: %w", address, store.ErrNotFound)
		}
		_, err = tx.Exec(ctx, "DELETE FROM addresses WHERE address = $1", address)
		return mapErr(err, "delete account "+address, nil)
	})
}

// CreateAlias creates an alias; address may be "@domain" for a catch-all.
func (s *Store) CreateAlias(ctx context.Context, address string, targets []string) (store.Alias, error) {
	al := store.Alias{Address: address, Targets: append([]string{}, targets...), Created: now()}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		domainID, err := claimAddress(ctx, tx, al.Address)
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `INSERT INTO aliases (domain_id, address, targets, created)
			VALUES ($1, $2, $3, $4) RETURNING id`, domainID, al.Address, al.Targets, al.Created).Scan(&al.ID)
		return mapErr(err, "create alias "+al.Address, store.ErrNotFound)
	})
	if err != nil {
		return store.Alias{}, err
	}
	return al, nil
}

func scanAlias(r pgx.Row) (store.Alias, error) {
	var al store.Alias
	err := r.Scan(&al.ID, &al.Address, &al.Targets, &al.Created)
	al.Created = al.Created.UTC()
	return al, err
}

// GetAlias returns an alias by address.
func (s *Store) GetAlias(ctx context.Context, address string) (store.Alias, error) {
	al, err := scanAlias(s.pool.QueryRow(ctx, "SELECT id, address, targets, created FROM aliases WHERE address = $1", address))
	if err != nil {
		return store.Alias{}, mapErr(err, "alias "+address, nil)
	}
	return al, nil
}

// ListAliases lists the aliases of domain (all if domain is "") by address.
func (s *Store) ListAliases(ctx context.Context, domain string) ([]store.Alias, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, address, targets, created FROM aliases
		WHERE $1 = '' OR domain_id = (SELECT id FROM domains WHERE name = $1)
		ORDER BY address`, domain)
	als, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Alias, error) { return scanAlias(r) })
	if err != nil {
		return nil, mapErr(err, "list aliases", nil)
	}
	return als, nil
}

// DeleteAlias removes an alias.
func (s *Store) DeleteAlias(ctx context.Context, address string) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM aliases WHERE address = $1", address)
		if err != nil {
			return mapErr(err, "delete alias "+address, nil)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("delete alias %s: %w", address, store.ErrNotFound)
		}
		_, err = tx.Exec(ctx, "DELETE FROM addresses WHERE address = $1", address)
		return mapErr(err, "delete alias "+address, nil)
	})
}
