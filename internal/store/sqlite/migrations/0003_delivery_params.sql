-- Sealpost embedded schema, version 3: the delivery parameters of a queued
-- message (SMTPUTF8, BODY, the DSN parameters ENVID and RET, the submitting
-- account) and whether its sender has had a delay warning. Items queued
-- before keep the defaults: none given, no warning sent. NOTIFY and ORCPT
-- live with each recipient in the recipients JSON, where older items simply
-- lack them.
ALTER TABLE queue ADD COLUMN smtputf8 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queue ADD COLUMN body_type TEXT NOT NULL DEFAULT ''
	CHECK (body_type IN ('', '7BIT', '8BITMIME', 'BINARYMIME'));
ALTER TABLE queue ADD COLUMN envid TEXT NOT NULL DEFAULT '';
ALTER TABLE queue ADD COLUMN ret TEXT NOT NULL DEFAULT '' CHECK (ret IN ('', 'FULL', 'HDRS'));
ALTER TABLE queue ADD COLUMN submitter INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queue ADD COLUMN delay_warned INTEGER NOT NULL DEFAULT 0;
