-- Sealpost embedded schema, version 9: the unseen and the deleted messages
-- of a mailbox are found through partial indexes, so that SELECT and
-- STATUS count them (and find the first unseen) without reading every
-- message's flags. The expressions are those CountFlags uses: SQLite uses
-- a partial index only for a query whose WHERE repeats its terms.
CREATE INDEX messages_unseen ON messages(mailbox_id, uid)
	WHERE instr(' ' || flags || ' ', ' \Seen ') = 0;
CREATE INDEX messages_deleted ON messages(mailbox_id, uid)
	WHERE instr(' ' || flags || ' ', ' \Deleted ') > 0;
