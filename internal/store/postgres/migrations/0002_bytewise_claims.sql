-- Sealpost schema, version 2.

-- Names sort bytewise, as in the embedded backend, whatever the locale the
-- cluster was created with: lists come back in the same order everywhere,
-- and a cluster moved to another locale cannot reorder them (or corrupt the
-- unique indexes, as a changed glibc collation can).
ALTER TABLE domains ALTER COLUMN name TYPE text COLLATE "C";
ALTER TABLE addresses ALTER COLUMN address TYPE text COLLATE "C";
ALTER TABLE accounts ALTER COLUMN address TYPE text COLLATE "C";
ALTER TABLE aliases ALTER COLUMN address TYPE text COLLATE "C";
ALTER TABLE mailboxes ALTER COLUMN name TYPE text COLLATE "C";

-- Each queue claim carries a token of its own, so that only the holder of
-- the current claim can finish or extend it.
ALTER TABLE queue ADD COLUMN claim_token text NOT NULL DEFAULT '';
