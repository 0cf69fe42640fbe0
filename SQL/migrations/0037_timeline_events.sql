-- Events pushed to subscribed clients are the timeline's entries. Each entry records the transaction that wrote
-- it, so a reader can deliver entries in id order without ever skipping one that commits late (see
-- SQL/definitions/0330_events.sql).
ALTER TABLE app.timeline_entries ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
