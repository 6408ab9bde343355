-- The recovery address of accounts (store.Recovery): where their security
-- alerts go too. It goes with its account. updated is Unix microseconds.
CREATE TABLE recovery_addresses (
	account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	address    TEXT NOT NULL,
	updated    INTEGER NOT NULL
);
