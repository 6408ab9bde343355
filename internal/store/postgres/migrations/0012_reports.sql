-- DMARC aggregate and TLS report data (store.Reports). report_rows counts
-- identical rows (row_key is the SHA-256 of data) per kind, UTC day and
-- policy domain; received_reports keeps the reports other organizations
-- send about our domains.
CREATE TABLE report_rows (
	kind    text NOT NULL CHECK (kind IN ('dmarc', 'tls')),
	day     date NOT NULL,
	domain  text NOT NULL,
	row_key bytea NOT NULL,
	data    bytea NOT NULL,
	count   bigint NOT NULL,
	PRIMARY KEY (kind, day, domain, row_key)
);

CREATE TABLE received_reports (
	id        bigserial PRIMARY KEY,
	kind      text NOT NULL CHECK (kind IN ('dmarc', 'tls')),
	domain    text NOT NULL,
	org       text NOT NULL,
	report_id text NOT NULL,
	begin_at  timestamptz NOT NULL,
	end_at    timestamptz NOT NULL,
	received  timestamptz NOT NULL,
	data      bytea NOT NULL,
	UNIQUE (kind, org, report_id)
);
CREATE INDEX received_reports_by_domain ON received_reports(kind, domain, end_at);
