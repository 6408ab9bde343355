-- The reverse DNS name of a log entry's remote IP when it was recorded
-- (store.LogEntry.ReverseDNS); '' when there was none.
ALTER TABLE log ADD COLUMN reverse_dns text NOT NULL DEFAULT '';
