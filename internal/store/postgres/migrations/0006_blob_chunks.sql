-- Large bodies are stored in chunks, so that neither writing nor reading
-- one holds it whole in memory. blobs.data keeps the first chunk (the whole
-- body when it fits in one) and blob_chunks the rest, numbered from 1;
-- blobs.chunks counts them.
--
-- A large body is written ahead of the rows that use it, in a transaction
-- of its own, with pending set; the transaction that stores its message
-- clears pending. One left pending by a crash in between is removed by
-- SweepOrphans.
ALTER TABLE blobs ADD COLUMN chunks integer NOT NULL DEFAULT 0 CHECK (chunks >= 0);
ALTER TABLE blobs ADD COLUMN pending timestamptz;
CREATE INDEX blobs_pending ON blobs (pending) WHERE pending IS NOT NULL;

CREATE TABLE blob_chunks (
	blob_id bigint NOT NULL REFERENCES blobs (id) ON DELETE CASCADE,
	n       integer NOT NULL CHECK (n >= 1),
	data    bytea NOT NULL,
	PRIMARY KEY (blob_id, n)
);
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
