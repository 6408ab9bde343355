-- Per-account allow-lists of networks (store.NetworkAllowLists): a login
-- on protocol ('' for every protocol) is accepted only from inside one of
-- the networks listed for it.
CREATE TABLE allowed_networks (
	account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	protocol   text NOT NULL,
	network    cidr NOT NULL,
	PRIMARY KEY (account_id, protocol, network)
);
