-- The recovery address of accounts (store.Recovery): where their security
-- alerts go too. It goes with its account.
CREATE TABLE recovery_addresses (
	account_id bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	address    text NOT NULL,
	updated    timestamptz NOT NULL
);
