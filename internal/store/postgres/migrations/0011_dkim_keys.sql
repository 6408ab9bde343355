-- The domains' DKIM signing keys (store.DKIMKeys): a new key is pending
-- (published, signing nothing) until activated; the key it replaces is
-- retiring, published until retire_at. They leave with their domain.
CREATE TABLE dkim_keys (
	domain_id   bigint NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
	selector    text NOT NULL,
	algorithm   text NOT NULL CHECK (algorithm IN ('ed25519', 'rsa')),
	private_key bytea NOT NULL,
	state       text NOT NULL CHECK (state IN ('pending', 'active', 'retiring')),
	created     timestamptz NOT NULL,
	retire_at   timestamptz,
	PRIMARY KEY (domain_id, selector)
);
