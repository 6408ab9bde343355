-- Second credentials of accounts (store.Credentials): 2-step verification
-- with TOTP (RFC 6238) and its recovery codes, and app passwords. Every row
-- goes with its account. Times are Unix microseconds; 0 means "none".

-- One row per account with 2-step verification on. last_step is the last
-- TOTP time step a code was accepted for: a code of that step or an
-- earlier one is refused, so a code works once.
CREATE TABLE totp (
	account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	secret     BLOB NOT NULL,
	enabled    INTEGER NOT NULL,
	last_step  INTEGER NOT NULL DEFAULT 0
);

-- The SHA-256 of each unused recovery code; a used one is deleted.
CREATE TABLE recovery_codes (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	code_hash  BLOB NOT NULL,
	PRIMARY KEY (account_id, code_hash)
) WITHOUT ROWID;

-- App passwords: scopes is a comma-separated sorted list of protocols;
-- secret_hash is the SHA-256 of the password.
CREATE TABLE app_passwords (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	scopes      TEXT NOT NULL,
	secret_hash BLOB NOT NULL,
	created     INTEGER NOT NULL,
	last_used   INTEGER NOT NULL DEFAULT 0,
	last_ip     TEXT NOT NULL DEFAULT '',
	UNIQUE (account_id, name)
);
CREATE INDEX app_passwords_hash ON app_passwords(account_id, secret_hash);

-- How a login was attempted: LOGIN, PLAIN, USER/PASS...
ALTER TABLE log ADD COLUMN method TEXT NOT NULL DEFAULT '';
