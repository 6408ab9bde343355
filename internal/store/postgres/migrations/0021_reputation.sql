-- Reputation (store.Reputation): decayed counts per sender domain,
-- network and link domain. The counts were decayed to last_seen; readers
-- decay them further to their own time.
CREATE TABLE reputation (
	kind       text COLLATE "C" NOT NULL,
	name       text COLLATE "C" NOT NULL,
	ham        double precision NOT NULL DEFAULT 0,
	spam       double precision NOT NULL DEFAULT 0,
	phish      double precision NOT NULL DEFAULT 0,
	user_ham   double precision NOT NULL DEFAULT 0,
	user_spam  double precision NOT NULL DEFAULT 0,
	user_phish double precision NOT NULL DEFAULT 0,
	first_seen timestamptz NOT NULL,
	last_seen  timestamptz NOT NULL,
	PRIMARY KEY (kind, name)
);
CREATE INDEX reputation_seen ON reputation (last_seen);

-- When each account last wrote to each correspondent (NULL: it only
-- received mail from it): people you wrote to are trusted by the filter.
ALTER TABLE correspondents ADD COLUMN wrote timestamptz;
