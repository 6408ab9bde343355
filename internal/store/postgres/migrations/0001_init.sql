-- Sealpost schema, version 1.

CREATE TABLE domains (
	id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name    text NOT NULL UNIQUE,
	created timestamptz NOT NULL
);

-- Accounts and aliases share one address namespace: both insert their
-- address here, so the primary key keeps them from colliding, and the
-- restricting reference to domains keeps a domain with addresses from being
-- deleted.
CREATE TABLE addresses (
	address   text PRIMARY KEY,
	domain_id bigint NOT NULL REFERENCES domains (id) ON DELETE RESTRICT
);

CREATE TABLE accounts (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	domain_id     bigint NOT NULL REFERENCES domains (id),
	address       text NOT NULL UNIQUE REFERENCES addresses (address),
	password_hash text NOT NULL,
	quota_bytes   bigint NOT NULL DEFAULT 0 CHECK (quota_bytes >= 0),
	used_bytes    bigint NOT NULL DEFAULT 0,
	disabled      boolean NOT NULL DEFAULT false,
	created       timestamptz NOT NULL
);

CREATE TABLE aliases (
	id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	domain_id bigint NOT NULL REFERENCES domains (id),
	address   text NOT NULL UNIQUE REFERENCES addresses (address),
	targets   text[] NOT NULL,
	created   timestamptz NOT NULL
);

-- UIDVALIDITY comes from one sequence for the whole database, started at the
-- current Unix time, so a mailbox re-created under an old name always gets a
-- greater value, even after the database was rebuilt from scratch.
CREATE SEQUENCE uidvalidity_seq AS bigint MINVALUE 1 MAXVALUE 4294967295;
SELECT setval('uidvalidity_seq', GREATEST(1, extract(epoch FROM now())::bigint));

-- A mailbox row is the allocation point for UIDs and MODSEQs: writers take
-- them with UPDATE ... RETURNING, which serialises writers per mailbox.
CREATE TABLE mailboxes (
	id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	account_id     bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	name           text NOT NULL,
	special_use    text NOT NULL DEFAULT '',
	subscribed     boolean NOT NULL DEFAULT false,
	uid_validity   bigint NOT NULL DEFAULT nextval('uidvalidity_seq'),
	uid_next       bigint NOT NULL DEFAULT 1 CHECK (uid_next BETWEEN 1 AND 4294967296),
	highest_modseq bigint NOT NULL DEFAULT 0 CHECK (highest_modseq >= 0),
	messages       integer NOT NULL DEFAULT 0,
	size           bigint NOT NULL DEFAULT 0,
	created        timestamptz NOT NULL,
	UNIQUE (account_id, name)
);

-- Message bodies. A body is stored once per delivery and shared by every
-- copy; refs counts the messages and queue items pointing at it, kept by the
-- triggers below, so cascading deletes release bodies too.
CREATE TABLE blobs (
	id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	size bigint NOT NULL,
	refs integer NOT NULL DEFAULT 0,
	data bytea NOT NULL
);
-- Bodies are mostly already compressed or short; don't spend CPU on pglz.
ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE messages (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	mailbox_id    bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
	uid           bigint NOT NULL,
	modseq        bigint NOT NULL,
	flags         text[] NOT NULL DEFAULT '{}',
	internal_date timestamptz NOT NULL,
	save_date     timestamptz NOT NULL,
	size          bigint NOT NULL,
	blob_id       bigint NOT NULL REFERENCES blobs (id),
	UNIQUE (mailbox_id, uid)
);
CREATE INDEX messages_modseq ON messages (mailbox_id, modseq);
CREATE INDEX messages_blob ON messages (blob_id);

-- Expunge tombstones for QRESYNC VANISHED (RFC 7162 section 3.2.10).
CREATE TABLE expunged (
	mailbox_id bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
	uid        bigint NOT NULL,
	modseq     bigint NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX expunged_modseq ON expunged (mailbox_id, modseq);

CREATE TABLE queue (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	sender       text NOT NULL,
	recipients   jsonb NOT NULL,
	blob_id      bigint NOT NULL REFERENCES blobs (id),
	size         bigint NOT NULL,
	state        text NOT NULL CHECK (state IN ('ready', 'held', 'delivery')),
	attempts     integer NOT NULL DEFAULT 0,
	next_attempt timestamptz NOT NULL,
	last_attempt timestamptz,
	created      timestamptz NOT NULL,
	claimed_by   text NOT NULL DEFAULT '',
	claim_until  timestamptz,
	require_tls  boolean NOT NULL DEFAULT false
);
CREATE INDEX queue_due ON queue (next_attempt) WHERE state = 'ready';
CREATE INDEX queue_claims ON queue (claim_until) WHERE state = 'delivery';
CREATE INDEX queue_blob ON queue (blob_id);

CREATE FUNCTION blob_ref() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE blobs SET refs = refs + 1 WHERE id = NEW.blob_id;
	RETURN NULL;
END
$$;

CREATE FUNCTION blob_unref() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	left_refs integer;
BEGIN
	-- Decrement first: the row lock orders concurrent releases, so exactly
	-- one of them sees the count reach zero.
	UPDATE blobs SET refs = refs - 1 WHERE id = OLD.blob_id RETURNING refs INTO left_refs;
	IF left_refs <= 0 THEN
		DELETE FROM blobs WHERE id = OLD.blob_id;
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER messages_blob_ref AFTER INSERT ON messages
	FOR EACH ROW EXECUTE FUNCTION blob_ref();
CREATE TRIGGER messages_blob_unref AFTER DELETE ON messages
	FOR EACH ROW EXECUTE FUNCTION blob_unref();
CREATE TRIGGER queue_blob_ref AFTER INSERT ON queue
	FOR EACH ROW EXECUTE FUNCTION blob_ref();
CREATE TRIGGER queue_blob_unref AFTER DELETE ON queue
	FOR EACH ROW EXECUTE FUNCTION blob_unref();

CREATE TABLE log (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time       timestamptz NOT NULL,
	account_id bigint NOT NULL DEFAULT 0,
	kind       text NOT NULL,
	protocol   text NOT NULL,
	remote_ip  inet,
	client     text NOT NULL,
	outcome    text NOT NULL,
	detail     text NOT NULL
);
CREATE INDEX log_time ON log (time);
CREATE INDEX log_account_time ON log (account_id, time);
