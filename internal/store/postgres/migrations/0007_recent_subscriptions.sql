-- Sealpost schema, version 7.

-- recent_uid is the highest UID some session has been told is \Recent
-- (RFC 3501 §2.3.2): greater UIDs are recent to the next session that
-- claims them (store.Mailboxes.ClaimRecent).
ALTER TABLE mailboxes ADD COLUMN recent_uid bigint NOT NULL DEFAULT 0;

-- The subscribed names that are not mailboxes: a deleted mailbox stays
-- subscribed (RFC 9051 §6.3.9), and a mailbox created under such a name
-- takes the subscription back.
CREATE TABLE subscriptions (
	account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	name text COLLATE "C" NOT NULL,
	PRIMARY KEY (account_id, name)
);
