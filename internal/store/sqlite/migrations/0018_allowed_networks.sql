-- Per-account allow-lists of networks (store.NetworkAllowLists): a login
-- on protocol ('' for every protocol) is accepted only from inside one of
-- the networks listed for it. network is the masked prefix in its text
-- form ("192.0.2.0/24", "2001:db8::/32").
CREATE TABLE allowed_networks (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	protocol   TEXT NOT NULL,
	network    TEXT NOT NULL,
	PRIMARY KEY (account_id, protocol, network)
) WITHOUT ROWID;
