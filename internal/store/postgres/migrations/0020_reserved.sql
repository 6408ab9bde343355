-- Version 20 is store.FilterModels, written on another branch; this
-- placeholder keeps the versions numbered 1..N until that file replaces
-- it, and does nothing.
SELECT 1;
