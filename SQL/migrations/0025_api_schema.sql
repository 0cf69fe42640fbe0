-- Schema api: one function per JSON-RPC domain method (SQL/definitions/01xx_api_*.sql), called by the server as
-- `SELECT api.<entity>_<verb>($1::jsonb)` after app.begin_call, in one pipeline. The functions run with the
-- caller's rights (SECURITY INVOKER), so row-level security applies to everything they touch.
CREATE SCHEMA api;
REVOKE ALL ON SCHEMA api FROM PUBLIC;
GRANT USAGE ON SCHEMA api TO engagement_app;

-- The page a list call asks for, decoded from sort, order, limit and cursor by api.page().
CREATE TYPE api.page AS (
    sort text,
    descending boolean,
    page_size integer,
    after_key text,
    after_id uuid
);
