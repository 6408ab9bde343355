-- The text index for IMAP SEARCH: the decoded text of each body (package
-- mailtext), folded, one row per body; copies of a message share it, and
-- it goes with the body.
CREATE TABLE text_docs (
	blob_id   bigint PRIMARY KEY REFERENCES blobs (id) ON DELETE CASCADE,
	header    text NOT NULL,
	subject   text NOT NULL,
	from_addr text NOT NULL,
	to_addr   text NOT NULL,
	cc_addr   text NOT NULL,
	bcc_addr  text NOT NULL,
	body      text NOT NULL
);

-- The indexer's cursor: every message with a lower or equal ID had its
-- body's text indexed when the cursor moved past it.
CREATE TABLE text_cursor (
	one     boolean PRIMARY KEY DEFAULT true CHECK (one),
	last_id bigint NOT NULL
);
INSERT INTO text_cursor (last_id) VALUES (0);

-- Trigram GIN indexes make LIKE '%...%' fast. pg_trgm is a trusted
-- extension (PostgreSQL 13 and later): the database owner may create it.
-- Where it cannot be had, SEARCH still works, reading the text row by row.
DO $$
BEGIN
	CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
	RAISE WARNING 'pg_trgm is not available (%): SEARCH runs without a trigram index', SQLERRM;
END
$$;
DO $$
BEGIN
	IF EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_trgm') THEN
		CREATE INDEX text_docs_header ON text_docs USING gin (header gin_trgm_ops);
		CREATE INDEX text_docs_body ON text_docs USING gin (body gin_trgm_ops);
	END IF;
END
$$;
