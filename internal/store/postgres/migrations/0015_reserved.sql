-- Number 0015 belongs to the security alerts schema, merged separately;
-- this file keeps the numbering whole until then and is replaced by it.
SELECT 1;
