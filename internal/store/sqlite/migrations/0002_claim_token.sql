-- Sealpost embedded schema, version 2: each queue claim carries a token of
-- its own, so that only the holder of the current claim can finish or
-- extend it.
ALTER TABLE queue ADD COLUMN claim_token TEXT NOT NULL DEFAULT '';
