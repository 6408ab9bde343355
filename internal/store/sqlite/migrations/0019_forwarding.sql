-- The forwarding rules of accounts (store.Forwarding). They go with their
-- account. token_hash is the SHA-256 of the confirmation token of a
-- pending rule, NULL once confirmed. Times are Unix microseconds, 0 for
-- none.
CREATE TABLE forward_rules (
	id            INTEGER PRIMARY KEY,
	account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	target        TEXT NOT NULL,
	keep_copy     INTEGER NOT NULL,
	state         TEXT NOT NULL,
	token_hash    BLOB UNIQUE,
	token_expires INTEGER NOT NULL,
	created       INTEGER NOT NULL,
	confirmed     INTEGER NOT NULL,
	reminders     INTEGER NOT NULL DEFAULT 0,
	last_reminder INTEGER NOT NULL DEFAULT 0,
	UNIQUE (account_id, target)
);
CREATE INDEX forward_rules_state ON forward_rules(state);
