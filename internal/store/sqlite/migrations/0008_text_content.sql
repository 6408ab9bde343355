-- The text index keeps its text in a table of its own, text_content, under
-- an external-content FTS5 table: strings too short for a trigram are then
-- looked for in text_content directly, a plain table scan, instead of
-- through FTS5 one row at a time. The text already indexed moves over; the
-- index is rebuilt from it.
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
INSERT INTO text_content (id, blob_id, header, subject, from_addr, to_addr, cc_addr, bcc_addr, body)
	SELECT d.id, d.blob_id, f.header, f.subject, f.from_addr, f.to_addr, f.cc_addr, f.bcc_addr, f.body
	FROM text_docs d JOIN text_fts f ON f.rowid = d.id;

DROP TRIGGER blobs_text_gone;
DROP TABLE text_fts;
DROP TABLE text_docs;

-- detail=none keeps the index small (no positions): a GLOB on a column
-- finds the rows holding every trigram of the pattern, and FTS5 checks
-- each against the stored text, so the answer is exact. The text is folded
-- before it is stored, so the tokenizer is case-sensitive and GLOB (not
-- LIKE) uses the index.
CREATE VIRTUAL TABLE text_fts USING fts5(
	header, subject, from_addr, to_addr, cc_addr, bcc_addr, body,
	content = 'text_content', content_rowid = 'id',
	tokenize = 'trigram case_sensitive 1', detail = none
);
INSERT INTO text_fts (text_fts) VALUES ('rebuild');

-- A body's text leaves with the body (its last message or queue item).
CREATE TRIGGER blobs_text_gone AFTER DELETE ON blobs BEGIN
	INSERT INTO text_fts (text_fts, rowid, header, subject, from_addr, to_addr, cc_addr, bcc_addr, body)
		SELECT 'delete', id, header, subject, from_addr, to_addr, cc_addr, bcc_addr, body
		FROM text_content WHERE blob_id = OLD.id;
	DELETE FROM text_content WHERE blob_id = OLD.id;
END;
-- The cursor (meta 'text_cursor') stays: every message up to it has its
-- body's text stored or its body is gone. Writes commit in ID order here,
-- so the messages without text are those after it.
