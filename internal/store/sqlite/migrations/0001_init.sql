-- Sealpost embedded schema, version 1.
-- Times are Unix microseconds (UTC); 0 means "none".

CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE domains (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	name    TEXT NOT NULL UNIQUE,
	created INTEGER NOT NULL
);

CREATE TABLE accounts (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	domain_id     INTEGER NOT NULL REFERENCES domains(id) ON DELETE RESTRICT,
	address       TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	quota_bytes   INTEGER NOT NULL DEFAULT 0,
	used_bytes    INTEGER NOT NULL DEFAULT 0,
	disabled      INTEGER NOT NULL DEFAULT 0,
	created       INTEGER NOT NULL
);
CREATE INDEX accounts_domain ON accounts(domain_id);

CREATE TABLE aliases (
	id        INTEGER PRIMARY KEY AUTOINCREMENT,
	domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE RESTRICT,
	address   TEXT NOT NULL UNIQUE,
	targets   TEXT NOT NULL, -- JSON array of addresses
	created   INTEGER NOT NULL
);
CREATE INDEX aliases_domain ON aliases(domain_id);

CREATE TABLE mailboxes (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name           TEXT NOT NULL,
	special_use    TEXT NOT NULL DEFAULT '',
	subscribed     INTEGER NOT NULL DEFAULT 0,
	uidvalidity    INTEGER NOT NULL,
	uidnext        INTEGER NOT NULL DEFAULT 1,
	highest_modseq INTEGER NOT NULL DEFAULT 0,
	messages       INTEGER NOT NULL DEFAULT 0,
	size           INTEGER NOT NULL DEFAULT 0,
	created        INTEGER NOT NULL,
	UNIQUE (account_id, name)
);

-- One row per stored body; refs counts the messages and queue items that
-- point to it, kept by the triggers below. A body whose count drops to zero
-- moves to blob_trash in the same transaction; its file is removed after the
-- commit (and by the sweep at open if a crash comes between).
CREATE TABLE blobs (
	id   TEXT PRIMARY KEY,
	size INTEGER NOT NULL,
	refs INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE blob_trash (
	id TEXT PRIMARY KEY
) WITHOUT ROWID;

CREATE TABLE messages (
	id            INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: EMAILID
	mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid           INTEGER NOT NULL,
	modseq        INTEGER NOT NULL,
	flags         TEXT NOT NULL DEFAULT '', -- sorted, space separated
	internal_date INTEGER NOT NULL,
	save_date     INTEGER NOT NULL,
	size          INTEGER NOT NULL,
	blob_id       TEXT NOT NULL, -- counted in blobs.refs
	UNIQUE (mailbox_id, uid)
);
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);

-- Expunge tombstones for QRESYNC VANISHED (RFC 7162 section 3.2.10).
CREATE TABLE expunged (
	mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid        INTEGER NOT NULL,
	modseq     INTEGER NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);

CREATE TABLE queue (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	sender       TEXT NOT NULL,
	recipients   TEXT NOT NULL, -- JSON array of recipient states
	blob_id      TEXT NOT NULL, -- counted in blobs.refs
	size         INTEGER NOT NULL,
	state        TEXT NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL,
	last_attempt INTEGER NOT NULL DEFAULT 0,
	created      INTEGER NOT NULL,
	claimed_by   TEXT NOT NULL DEFAULT '',
	claim_until  INTEGER NOT NULL DEFAULT 0,
	require_tls  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX queue_due ON queue(state, next_attempt);

CREATE TABLE log (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	time       INTEGER NOT NULL,
	account_id INTEGER NOT NULL DEFAULT 0,
	kind       TEXT NOT NULL,
	protocol   TEXT NOT NULL,
	remote_ip  TEXT NOT NULL,
	client     TEXT NOT NULL,
	outcome    TEXT NOT NULL,
	detail     TEXT NOT NULL
);
CREATE INDEX log_time ON log(time);
CREATE INDEX log_account_time ON log(account_id, time);

CREATE TRIGGER messages_ref AFTER INSERT ON messages BEGIN
	UPDATE blobs SET refs = refs + 1 WHERE id = NEW.blob_id;
END;
CREATE TRIGGER messages_unref AFTER DELETE ON messages BEGIN
	UPDATE blobs SET refs = refs - 1 WHERE id = OLD.blob_id;
END;
CREATE TRIGGER queue_ref AFTER INSERT ON queue BEGIN
	UPDATE blobs SET refs = refs + 1 WHERE id = NEW.blob_id;
END;
CREATE TRIGGER queue_unref AFTER DELETE ON queue BEGIN
	UPDATE blobs SET refs = refs - 1 WHERE id = OLD.blob_id;
END;
CREATE TRIGGER blobs_unreferenced AFTER UPDATE OF refs ON blobs WHEN NEW.refs <= 0 BEGIN
	INSERT OR IGNORE INTO blob_trash(id) VALUES (NEW.id);
	DELETE FROM blobs WHERE id = NEW.id;
END;
