-- When DNS was first seen publishing a pending DKIM key's record (NULL for
-- not seen): the server activates a pending pair only after both records
-- have been published for a while (store.DKIMKey.PublishedSince).
ALTER TABLE dkim_keys ADD COLUMN published_since timestamptz;
