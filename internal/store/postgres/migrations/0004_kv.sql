-- Sealpost schema, version 4.

-- Small expiring values by namespace and key (store.KV), for caches kept
-- across restarts such as MTA-STS policies. Names compare bytewise, as
-- everywhere else; the index serves PruneValues.
CREATE TABLE kv (
	namespace text COLLATE "C" NOT NULL,
	key text COLLATE "C" NOT NULL,
	value bytea NOT NULL,
	expires timestamptz NOT NULL,
	PRIMARY KEY (namespace, key)
);
CREATE INDEX kv_expires ON kv (expires);
