-- The content classifier's models (store.FilterModels), opaque bytes:
-- account_id 0 is the global model, others an account's own. No foreign
-- key (0 is no account): a trigger deletes an account's model with it.
-- updated is Unix microseconds.
CREATE TABLE filter_models (
	account_id INTEGER PRIMARY KEY,
	data       BLOB NOT NULL,
	updated    INTEGER NOT NULL
);
CREATE TRIGGER filter_models_account_deleted AFTER DELETE ON accounts
BEGIN
	DELETE FROM filter_models WHERE account_id = OLD.id;
END;
