-- Outbound abuse control (store.Outbound). Every row goes with its
-- account. Times are Unix microseconds; 0 means "none".

-- One row per message an account submitted for outside delivery, kept for
-- store.SendHistory; new counts its recipients the account had not
-- written to or received from before.
CREATE TABLE outbound_sends (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	time       INTEGER NOT NULL,
	recipients INTEGER NOT NULL,
	new        INTEGER NOT NULL
);
CREATE INDEX outbound_sends_account ON outbound_sends(account_id, time);

-- The addresses each account wrote to or received from, the most recent
-- few thousand.
CREATE TABLE correspondents (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	address    TEXT NOT NULL,
	last_seen  INTEGER NOT NULL,
	PRIMARY KEY (account_id, address)
) WITHOUT ROWID;
CREATE INDEX correspondents_seen ON correspondents(account_id, last_seen);

-- Accounts whose outgoing mail is held (held_since > 0) or was released
-- (released: counting starts again there).
CREATE TABLE outbound_accounts (
	account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	held_since INTEGER NOT NULL DEFAULT 0,
	reason     TEXT NOT NULL DEFAULT '',
	released   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX queue_submitter ON queue(submitter, state);
