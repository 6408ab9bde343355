-- Sealpost embedded schema, version 4: small expiring values by namespace
-- and key (store.KV), for caches kept across restarts such as MTA-STS
-- policies. expires is in Unix microseconds; the index serves PruneValues.
CREATE TABLE kv (
	namespace TEXT NOT NULL,
	key TEXT NOT NULL,
	value BLOB NOT NULL,
	expires INTEGER NOT NULL,
	PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
CREATE INDEX kv_expires ON kv(expires);
