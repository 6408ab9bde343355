-- Deleting a body's text adds delete markers to the FTS5 index; the
-- entries they cancel and the markers themselves stay until a merge takes
-- in the oldest segment, which automerge seldom does on a large index, and
-- every search walks them. The store counts deletions here so that the
-- indexer knows when to compact (CompactText). An index built before the
-- count existed is compacted once.
INSERT INTO meta(key, value) SELECT 'text_deleted', count(*) FROM text_content;

DROP TRIGGER blobs_text_gone;
CREATE TRIGGER blobs_text_gone AFTER DELETE ON blobs BEGIN
	UPDATE meta SET value = value + 1
		WHERE key = 'text_deleted' AND EXISTS (SELECT 1 FROM text_content WHERE blob_id = OLD.id);
	INSERT INTO text_fts (text_fts, rowid, header, subject, from_addr, to_addr, cc_addr, bcc_addr, body)
		SELECT 'delete', id, header, subject, from_addr, to_addr, cc_addr, bcc_addr, body
		FROM text_content WHERE blob_id = OLD.id;
	DELETE FROM text_content WHERE blob_id = OLD.id;
END;
