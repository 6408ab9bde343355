-- Sealpost schema, version 3.

-- The delivery parameters of a queued message (SMTPUTF8, BODY, the DSN
-- parameters ENVID and RET, the submitting account) and whether its sender
-- has had a delay warning. Items queued before keep the defaults: none
-- given, no warning sent. NOTIFY and ORCPT live with each recipient in the
-- recipients column, where older items simply lack them.
ALTER TABLE queue
	ADD COLUMN smtputf8 boolean NOT NULL DEFAULT false,
	ADD COLUMN body_type text NOT NULL DEFAULT ''
		CHECK (body_type IN ('', '7BIT', '8BITMIME', 'BINARYMIME')),
	ADD COLUMN envid text NOT NULL DEFAULT '',
	ADD COLUMN ret text NOT NULL DEFAULT '' CHECK (ret IN ('', 'FULL', 'HDRS')),
	ADD COLUMN submitter bigint NOT NULL DEFAULT 0,
	ADD COLUMN delay_warned boolean NOT NULL DEFAULT false;
