-- Outbound abuse control (store.Outbound). Every row goes with its
-- account.

-- One row per message an account submitted for outside delivery, kept for
-- store.SendHistory; new counts its recipients the account had not
-- written to or received from before.
CREATE TABLE outbound_sends (
	account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	time       timestamptz NOT NULL,
	recipients integer NOT NULL,
	new        integer NOT NULL
);
CREATE INDEX outbound_sends_account ON outbound_sends (account_id, time);

-- The addresses each account wrote to or received from, the most recent
-- few thousand.
CREATE TABLE correspondents (
	account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	address    text NOT NULL,
	last_seen  timestamptz NOT NULL,
	PRIMARY KEY (account_id, address)
);
CREATE INDEX correspondents_seen ON correspondents (account_id, last_seen);

-- One row per account that was ever checked: held while held_since is set;
-- released is where counting starts again. RecordSend locks the row, so
-- that the nodes count one account's messages one at a time.
CREATE TABLE outbound_accounts (
	account_id bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	held_since timestamptz,
	reason     text NOT NULL DEFAULT '',
	released   timestamptz
);
CREATE INDEX queue_submitter ON queue (submitter, state);
