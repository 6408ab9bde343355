-- Sealpost embedded schema, version 5: IMAP \Recent and subscriptions that
-- outlive their mailbox.
-- recent_uid is the highest UID some session has been told is \Recent
-- (RFC 3501 §2.3.2): greater UIDs are recent to the next session that
-- claims them (store.Mailboxes.ClaimRecent).
ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 0;
-- subscriptions holds the subscribed names that are not mailboxes: a
-- deleted mailbox stays subscribed (RFC 9051 §6.3.9), and a mailbox
-- created under such a name takes the subscription back.
CREATE TABLE subscriptions (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	PRIMARY KEY (account_id, name)
) WITHOUT ROWID;
