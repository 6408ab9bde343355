-- Nodes sharing the database learn of each other's mailbox changes through
-- LISTEN/NOTIFY on the channel sealpost_mailbox, so that IMAP IDLE and
-- NOTIFY sessions wake on any node. Every change to a mailbox's messages
-- moves its highest_modseq, and a change to the mailbox list inserts,
-- renames, (un)subscribes or deletes a row, so one trigger on mailboxes
-- sees every change. The payload is "mailbox_id account_id". PostgreSQL
-- sends notifications at commit, none for a rolled-back transaction, and
-- folds identical ones within a transaction.
CREATE FUNCTION mailbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	r mailboxes;
BEGIN
	IF TG_OP = 'DELETE' THEN
		r := OLD;
	ELSE
		r := NEW;
	END IF;
	IF TG_OP = 'UPDATE' AND OLD.highest_modseq = NEW.highest_modseq
		AND OLD.name = NEW.name AND OLD.subscribed = NEW.subscribed THEN
		RETURN NULL;
	END IF;
	PERFORM pg_notify('sealpost_mailbox', r.id || ' ' || r.account_id);
	RETURN NULL;
END
$$;

CREATE TRIGGER mailboxes_notify AFTER INSERT OR UPDATE OR DELETE ON mailboxes
	FOR EACH ROW EXECUTE FUNCTION mailbox_notify();
