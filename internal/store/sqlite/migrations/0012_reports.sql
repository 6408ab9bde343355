-- DMARC aggregate and TLS report data (store.Reports). report_rows counts
-- identical rows (row_key is the SHA-256 of data) per kind, UTC day
-- (micros of its midnight) and policy domain; received_reports keeps the
-- reports other organizations send about our domains.
CREATE TABLE report_rows (
	kind    TEXT NOT NULL CHECK (kind IN ('dmarc', 'tls')),
	day     INTEGER NOT NULL,
	domain  TEXT NOT NULL,
	row_key BLOB NOT NULL,
	data    BLOB NOT NULL,
	count   INTEGER NOT NULL,
	PRIMARY KEY (kind, day, domain, row_key)
);

CREATE TABLE received_reports (
	id        INTEGER PRIMARY KEY,
	kind      TEXT NOT NULL CHECK (kind IN ('dmarc', 'tls')),
	domain    TEXT NOT NULL,
	org       TEXT NOT NULL,
	report_id TEXT NOT NULL,
	begin_at  INTEGER NOT NULL,
	end_at    INTEGER NOT NULL,
	received  INTEGER NOT NULL,
	data      BLOB NOT NULL,
	UNIQUE (kind, org, report_id)
);
CREATE INDEX received_reports_by_domain ON received_reports(kind, domain, end_at);
