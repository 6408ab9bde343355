-- The forwarding rules of accounts (store.Forwarding). They go with their
-- account. token_hash is the SHA-256 of the confirmation token of a
-- pending rule, NULL once confirmed.
CREATE TABLE forward_rules (
	id            bigserial PRIMARY KEY,
	account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	target        text NOT NULL,
	keep_copy     boolean NOT NULL,
	state         text NOT NULL,
	token_hash    bytea UNIQUE,
	token_expires timestamptz,
	created       timestamptz NOT NULL,
	confirmed     timestamptz,
	reminders     integer NOT NULL DEFAULT 0,
	last_reminder timestamptz,
	UNIQUE (account_id, target)
);
CREATE INDEX forward_rules_state ON forward_rules (state);
