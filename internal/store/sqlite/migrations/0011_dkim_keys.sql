-- The domains' DKIM signing keys (store.DKIMKeys): a new key is pending
-- (published, signing nothing) until activated; the key it replaces is
-- retiring, published until retire_at. They leave with their domain.
CREATE TABLE dkim_keys (
	domain_id   INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
	selector    TEXT NOT NULL,
	algorithm   TEXT NOT NULL CHECK (algorithm IN ('ed25519', 'rsa')),
	private_key BLOB NOT NULL,
	state       TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retiring')),
	created     INTEGER NOT NULL,
	retire_at   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (domain_id, selector)
);
