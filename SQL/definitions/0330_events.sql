-- Events for subscribed clients: the timeline's entries, in id order, after a cursor (an entry id).
--
-- Ids are taken when an entry is written, not when its transaction commits, so a later id can commit first. A
-- reader that moved its cursor past it would then skip the earlier one when it commits. app.events_after
-- therefore delivers only entries whose transaction is older than every transaction still running (the xmin of
-- its snapshot): all of those are committed or gone, and no lower id can appear after them. An entry waits at
-- most as long as the longest transaction running when it committed.
--
-- A statement trigger tells listening servers which organisation has new entries (at commit, once per
-- transaction and organisation).

CREATE OR REPLACE FUNCTION app.notify_timeline_events() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    organisation uuid;
BEGIN
    FOR organisation IN SELECT DISTINCT n.organisation_id FROM new_entries n LOOP
        PERFORM app.notify_listeners('engagement_events', organisation::text);
    END LOOP;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS timeline_entries_notify ON app.timeline_entries;
CREATE TRIGGER timeline_entries_notify AFTER INSERT ON app.timeline_entries
    REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION app.notify_timeline_events();

-- A page of events after `after` (an entry id as text; absent: from now, nothing old), for the caller's
-- organisation, filtered by types and by one engagement or its subtree. Replays reach back at most 7 days: an
-- older cursor, or one that is not an entry of this organisation, is refused (-32602 params.after: resync).
-- SECURITY DEFINER for the same reason as app.timeline_page (0300_timeline.sql): it filters by the caller's
-- organisation itself and walks the (organisation_id, id) key.
CREATE OR REPLACE FUNCTION app.events_after(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    org constant uuid := app.current_organisation_id();
    page_size constant integer := least(coalesce((p ->> 'limit')::integer, 200), 1000);
    horizon constant xid8 := pg_snapshot_xmin(pg_current_snapshot());
    after bigint;
    scope uuid[];
    types text[];
    found_rows app.timeline_entries[];
    head bigint;
BEGIN
    scope := app.timeline_scope(org, p);  -- 0300_timeline.sql
    IF p ? 'types' THEN
        SELECT array_agg(x) INTO types FROM jsonb_array_elements_text(p -> 'types') x;
    END IF;
    -- The head: the newest entry any reader may be given now.
    SELECT max(t.id) INTO head FROM app.timeline_entries t WHERE t.organisation_id = org AND t.txid < horizon;
    IF p ->> 'after' IS NULL THEN
        RETURN jsonb_build_object('events', '[]'::jsonb, 'cursor', coalesce(head, 0)::text);
    END IF;
    IF p ->> 'after' !~ '^[0-9]{1,18}$' THEN
        PERFORM api.invalid_param('after', 'is not an events cursor');
    END IF;
    after := (p ->> 'after')::bigint;
    IF after > 0 AND NOT EXISTS (SELECT FROM app.timeline_entries t WHERE t.organisation_id = org AND t.id = after
                                   AND t.occurred_at >= now() - interval '7 days') THEN
        PERFORM api.invalid_param('after', 'is not a cursor of the last 7 days of this organisation''s events: resync');
    END IF;
    SELECT coalesce(array_agg(x.t ORDER BY (x.t).id), '{}') INTO found_rows
    FROM (SELECT t FROM app.timeline_entries t
          WHERE t.organisation_id = org AND t.id > after AND t.txid < horizon
            AND (scope IS NULL OR t.engagement_id = ANY (scope)) AND (types IS NULL OR t.entry_type = ANY (types))
          ORDER BY t.id LIMIT page_size) x(t);
    RETURN jsonb_build_object(
        'events', coalesce((SELECT jsonb_agg(jsonb_build_object('cursor', (found_rows[i]).id::text,
                                                                'event', app.timeline_entry_json(found_rows[i])) ORDER BY i)
                            FROM generate_subscripts(found_rows, 1) i), '[]'),
        -- A full page: more may follow at once. Otherwise the cursor moves to the head, past entries filtered out.
        'more', cardinality(found_rows) = page_size,
        'cursor', CASE WHEN cardinality(found_rows) = page_size THEN (found_rows[page_size]).id
                       ELSE greatest(after, coalesce(head, 0)) END::text);
END
$$;
REVOKE ALL ON FUNCTION app.events_after(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.events_after(jsonb) TO engagement_app;

CREATE OR REPLACE FUNCTION api.events_poll(p jsonb) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT app.events_after(p) $$;
REVOKE ALL ON FUNCTION api.events_poll(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.events_poll(jsonb) TO engagement_app;
