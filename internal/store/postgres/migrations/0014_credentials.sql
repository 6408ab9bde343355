-- Second credentials of accounts (store.Credentials): 2-step verification
-- with TOTP (RFC 6238) and its recovery codes, and app passwords. Every row
-- goes with its account.

-- One row per account with 2-step verification on. last_step is the last
-- TOTP time step a code was accepted for: a code of that step or an
-- earlier one is refused, so a code works once.
CREATE TABLE totp (
	account_id bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	secret     bytea NOT NULL,
	enabled    timestamptz NOT NULL,
	last_step  bigint NOT NULL DEFAULT 0
);

-- The SHA-256 of each unused recovery code; a used one is deleted.
CREATE TABLE recovery_codes (
	account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	code_hash  bytea NOT NULL,
	PRIMARY KEY (account_id, code_hash)
);

-- App passwords: scopes is a comma-separated sorted list of protocols;
-- secret_hash is the SHA-256 of the password.
CREATE TABLE app_passwords (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	name        text NOT NULL,
	scopes      text NOT NULL,
	secret_hash bytea NOT NULL,
	created     timestamptz NOT NULL,
	last_used   timestamptz,
	last_ip     inet,
	UNIQUE (account_id, name)
);
CREATE INDEX app_passwords_hash ON app_passwords (account_id, secret_hash);

-- How a login was attempted: LOGIN, PLAIN, USER/PASS...
ALTER TABLE log ADD COLUMN method text NOT NULL DEFAULT '';
