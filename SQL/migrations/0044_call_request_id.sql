-- app.begin_call gains the call's request id (it becomes the transaction's application_name, so the PostgreSQL
-- log ties a slow statement to its call); a function's parameters cannot change in place, so the old one goes and
-- SQL/definitions/0003_organisations_users_api_keys.sql makes the new one in the same transaction.
DROP FUNCTION app.begin_call(text, text);
