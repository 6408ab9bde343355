-- Sealpost schema, version 10: the unseen and the deleted messages of a
-- mailbox are found through partial indexes, so that SELECT and STATUS
-- count them (and find the first unseen) without reading every message's
-- flags. The predicates are those CountFlags uses.
CREATE INDEX messages_unseen ON messages (mailbox_id, uid) WHERE NOT ('\Seen' = ANY (flags));
CREATE INDEX messages_deleted ON messages (mailbox_id, uid) WHERE '\Deleted' = ANY (flags);
