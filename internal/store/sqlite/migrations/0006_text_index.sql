-- The text index for IMAP SEARCH: the decoded text of each body (package
-- mailtext), folded, one row per body; copies of a message share a body,
-- so they share its text.
--
-- text_content holds the text; text_fts indexes it (FTS5, external
-- content) with the trigram tokenizer. detail=none keeps the index small
-- (no positions): a GLOB on a column finds the rows holding every trigram
-- of the pattern, and FTS5 checks each against the stored text, so the
-- answer is exact. The text is folded before it is stored, so the
-- tokenizer is case-sensitive and GLOB (not LIKE) uses the index. Strings
-- under three characters are looked for in text_content directly.
CREATE TABLE text_content (
	id        INTEGER PRIMARY KEY, -- rowid in text_fts
	blob_id   TEXT NOT NULL UNIQUE,
	header    TEXT NOT NULL,
	subject   TEXT NOT NULL,
	from_addr TEXT NOT NULL,
	to_addr   TEXT NOT NULL,
	cc_addr   TEXT NOT NULL,
	bcc_addr  TEXT NOT NULL,
	body      TEXT NOT NULL
);

CREATE VIRTUAL TABLE text_fts USING fts5(
	header, subject, from_addr, to_addr, cc_addr, bcc_addr, body,
	content = 'text_content', content_rowid = 'id',
	tokenize = 'trigram case_sensitive 1', detail = none
);

-- From the bodies a search finds to their messages.
CREATE INDEX messages_blob ON messages(blob_id);

-- A body's text leaves with the body (its last message or queue item).
CREATE TRIGGER blobs_text_gone AFTER DELETE ON blobs BEGIN
	INSERT INTO text_fts(text_fts, rowid, header, subject, from_addr, to_addr, cc_addr, bcc_addr, body)
		SELECT 'delete', id, header, subject, from_addr, to_addr, cc_addr, bcc_addr, body
		FROM text_content WHERE blob_id = OLD.id;
	DELETE FROM text_content WHERE blob_id = OLD.id;
END;

-- The indexer's cursor: every message with a lower or equal ID had its
-- body's text stored (or its body was gone) when the cursor moved past it.
-- Writes commit in ID order here, so the messages without text are those
-- after the cursor.
INSERT INTO meta(key, value) VALUES ('text_cursor', 0);
