-- Reputation (store.Reputation): decayed counts per sender domain,
-- network and link domain. Times are Unix microseconds. The counts were
-- decayed to last_seen; readers decay them further to their own time.
CREATE TABLE reputation (
	kind       TEXT NOT NULL,
	name       TEXT NOT NULL,
	ham        REAL NOT NULL DEFAULT 0,
	spam       REAL NOT NULL DEFAULT 0,
	phish      REAL NOT NULL DEFAULT 0,
	user_ham   REAL NOT NULL DEFAULT 0,
	user_spam  REAL NOT NULL DEFAULT 0,
	user_phish REAL NOT NULL DEFAULT 0,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	PRIMARY KEY (kind, name)
) WITHOUT ROWID;
CREATE INDEX reputation_seen ON reputation(last_seen);

-- When each account last wrote to each correspondent (0: it only received
-- mail from it): people you wrote to are trusted by the filter.
ALTER TABLE correspondents ADD COLUMN wrote INTEGER NOT NULL DEFAULT 0;
