-- Reserved for the migration another change brings as 0005; this file goes
-- when that one is merged.
SELECT 1;
