-- The content classifier's models (store.FilterModels), opaque bytes:
-- account_id 0 is the global model, others an account's own. No foreign
-- key (0 is no account): a trigger deletes an account's model with it.
CREATE TABLE filter_models (
	account_id bigint PRIMARY KEY,
	data       bytea NOT NULL,
	updated    timestamptz NOT NULL
);
CREATE FUNCTION filter_models_account_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM filter_models WHERE account_id = OLD.id;
	RETURN OLD;
END;
$$;
CREATE TRIGGER filter_models_account_deleted AFTER DELETE ON accounts
	FOR EACH ROW EXECUTE FUNCTION filter_models_account_deleted();
