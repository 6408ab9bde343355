-- The text index for IMAP SEARCH: the decoded text of each body (package
-- mailtext), folded, in an FTS5 table with the trigram tokenizer. Copies of
-- a message share a body, so they share its text.
--
-- text_docs maps a body to its row in text_fts. detail=none keeps the
-- index small (no positions): a GLOB on a column finds the rows holding
-- every trigram of the pattern, and FTS5 checks each against the stored
-- text, so the answer is exact. The text is folded before it is stored, so
-- the tokenizer is case-sensitive and GLOB (not LIKE) uses the index.
CREATE TABLE text_docs (
	id      INTEGER PRIMARY KEY, -- rowid in text_fts
	blob_id TEXT NOT NULL UNIQUE
);

CREATE VIRTUAL TABLE text_fts USING fts5(
	header, subject, from_addr, to_addr, cc_addr, bcc_addr, body,
	tokenize = 'trigram case_sensitive 1', detail = none
);

-- From the bodies a search finds to their messages.
CREATE INDEX messages_blob ON messages(blob_id);

-- A body's text leaves with the body (its last message or queue item).
CREATE TRIGGER blobs_text_gone AFTER DELETE ON blobs BEGIN
	DELETE FROM text_fts WHERE rowid = (SELECT id FROM text_docs WHERE blob_id = OLD.id);
	DELETE FROM text_docs WHERE blob_id = OLD.id;
END;

-- The indexer's cursor: every message with a lower or equal ID had its
-- body's text indexed when the cursor moved past it.
INSERT INTO meta(key, value) VALUES ('text_cursor', 0);
