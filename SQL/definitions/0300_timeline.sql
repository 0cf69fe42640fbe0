-- The timeline: what happened to each engagement, in order, written by the database as changes commit.
--
-- Sources: every audited write (an AFTER INSERT trigger on app.audit_log maps the before/after images of the
-- tables below to entries, so psql writes appear exactly like API writes), health band changes (a trigger on
-- app.health_scores) and notes (timeline.note, the one kind clients write; the policy in 9000_policies.sql).
--
-- Search under row-level security: `@@` is not leakproof, so for a role subject to RLS PostgreSQL evaluates the
-- policy first and cannot use a text condition as an index condition; over an organisation of 1,000,000 entries
-- that is a scan of all of them. Reads therefore go through app.timeline_page, a SECURITY DEFINER function owned
-- by the schema owner (BYPASSRLS) that filters by the caller's organisation itself: it takes no organisation
-- argument, it reads app.current_organisation_id() (the same tenant context every policy reads, from
-- session_user's settings, which a definer function does not change), it returns nothing without one, and every
-- table it reads is filtered on organisation_id first. Then (organisation_id, search) is one GIN index condition.
-- Benchmarks/README.md has the plans and timings; the isolation tests cover it.

-- Entry types and what writes them.
CREATE OR REPLACE FUNCTION app.timeline_entry_types() RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$
    SELECT ARRAY['engagement_created', 'status_changed', 'stage_changed', 'hierarchy_moved', 'contract_changed',
                 'sla_changed', 'check_in', 'check_in_amended', 'health_band', 'risk_raised', 'risk_updated',
                 'risk_resolved', 'touchpoint', 'touchpoint_held', 'action_item', 'action_item_done', 'objective',
                 'objective_status', 'initiative', 'initiative_stage', 'playbook_started', 'playbook_finished',
                 'task_done', 'blueprint_applied', 'trigger_fired', 'reminder_due', 'renewal_due', 'note']
$$;

-- What changed between two row images, leaving out the bookkeeping columns.
CREATE OR REPLACE FUNCTION app.changed_keys(p_before jsonb, p_after jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$
    SELECT coalesce(array_agg(k ORDER BY k), '{}') FROM jsonb_object_keys(p_after) k
    WHERE k NOT IN ('version', 'updated_at', 'updated_by', 'created_at', 'created_by')
      AND p_before -> k IS DISTINCT FROM p_after -> k
$$;

CREATE OR REPLACE FUNCTION app.timeline_from_audit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b jsonb := NEW.before;
    a jsonb := NEW.after;
    r jsonb := coalesce(NEW.after, NEW.before);
    engagement uuid;
    entries jsonb := '[]';
    changed text[];
BEGIN
    CASE NEW.entity
    WHEN 'engagements' THEN
        engagement := NEW.entity_id;
        IF NEW.action = 'insert' THEN
            entries := jsonb_build_array(jsonb_build_object('type', 'engagement_created',
                'title', format('Engagement %s created: %s', a ->> 'code', a ->> 'name'),
                'details', jsonb_build_object('service_id', a -> 'service_id', 'template_id', a -> 'template_id')));
        ELSIF NEW.action = 'update' THEN
            IF b ->> 'status' IS DISTINCT FROM a ->> 'status' THEN
                entries := entries || jsonb_build_object('type', 'status_changed',
                    'title', format('Status %s → %s', b ->> 'status', a ->> 'status'),
                    'body', coalesce(current_setting('app.transition_reason', true), ''),
                    'details', jsonb_build_object('from', b -> 'status', 'to', a -> 'status'));
            END IF;
            IF b ->> 'journey_stage' IS DISTINCT FROM a ->> 'journey_stage' THEN
                entries := entries || jsonb_build_object('type', 'stage_changed',
                    'title', format('Journey stage %s → %s', b ->> 'journey_stage', a ->> 'journey_stage'),
                    'body', coalesce(current_setting('app.stage_reason', true), ''),
                    'details', jsonb_build_object('from', b -> 'journey_stage', 'to', a -> 'journey_stage'));
            END IF;
            IF b ->> 'parent_id' IS DISTINCT FROM a ->> 'parent_id' THEN
                entries := entries || jsonb_build_object('type', 'hierarchy_moved',
                    'title', coalesce('Moved under ' || (SELECT p.code FROM app.engagements p WHERE p.organisation_id = NEW.organisation_id
                                                         AND p.id = (a ->> 'parent_id')::uuid), 'Made a top-level engagement'));
            END IF;
            IF b ->> 'contract_id' IS DISTINCT FROM a ->> 'contract_id' THEN
                entries := entries || jsonb_build_object('type', 'contract_changed',
                    'title', coalesce('Contract ' || (SELECT k.reference FROM app.contracts k WHERE k.organisation_id = NEW.organisation_id
                                                      AND k.id = (a ->> 'contract_id')::uuid) || ' linked', 'Contract unlinked'));
            END IF;
        END IF;
    WHEN 'check_ins' THEN
        engagement := (r ->> 'engagement_id')::uuid;
        IF NEW.action = 'insert' THEN
            entries := jsonb_build_array(jsonb_build_object('type', 'check_in',
                'title', format('Check-in for %s submitted%s', to_char((a ->> 'period')::date, 'YYYY-MM'),
                                CASE WHEN (a ->> 'is_final')::boolean THEN ' (final)' ELSE '' END),
                'body', a ->> 'notes'));
        ELSIF NEW.action = 'update' THEN
            entries := jsonb_build_array(jsonb_build_object('type', 'check_in_amended',
                'title', format('Check-in for %s amended (revision %s)', to_char((a ->> 'period')::date, 'YYYY-MM'), a ->> 'version'),
                'body', a ->> 'notes'));
        END IF;
    WHEN 'risk_signals' THEN
        engagement := (r ->> 'engagement_id')::uuid;
        IF NEW.action = 'insert' THEN
            entries := jsonb_build_array(jsonb_build_object('type', 'risk_raised',
                'title', format('Risk raised: %s (%s)', a ->> 'title', a ->> 'severity'), 'body', a ->> 'description',
                'details', jsonb_build_object('severity', a -> 'severity', 'source', a -> 'source')));
        ELSIF NEW.action = 'update' THEN
            changed := app.changed_keys(b, a);
            IF b ->> 'status' IS DISTINCT FROM a ->> 'status' AND a ->> 'status' IN ('resolved', 'dismissed') THEN
                entries := jsonb_build_array(jsonb_build_object('type', 'risk_resolved',
                    'title', format('Risk %s: %s', a ->> 'status', a ->> 'title'), 'body', coalesce(a ->> 'resolution', '')));
            ELSIF cardinality(changed) > 0 THEN
                entries := jsonb_build_array(jsonb_build_object('type', 'risk_updated',
                    'title', format('Risk updated: %s (%s)', a ->> 'title', array_to_string(changed, ', '))));
            END IF;
        END IF;
    WHEN 'touchpoints' THEN
        engagement := (r ->> 'engagement_id')::uuid;
        IF NEW.action = 'insert' THEN
            entries := jsonb_build_array(jsonb_build_object('type', 'touchpoint',
                'title', CASE WHEN a ->> 'held_at' IS NOT NULL THEN format('%s held: %s', initcap(replace(a ->> 'kind', '_', ' ')), a ->> 'title')
                              ELSE format('%s scheduled for %s: %s', initcap(replace(a ->> 'kind', '_', ' ')),
                                          to_char((a ->> 'scheduled_at')::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), a ->> 'title') END,
                'body', a ->> 'notes'));
        ELSIF NEW.action = 'update' AND b ->> 'held_at' IS NULL AND a ->> 'held_at' IS NOT NULL THEN
            entries := jsonb_build_array(jsonb_build_object('type', 'touchpoint_held',
                'title', format('%s held: %s', initcap(replace(a ->> 'kind', '_', ' ')), a ->> 'title'), 'body', a ->> 'notes'));
        END IF;
    WHEN 'action_items' THEN
        SELECT t.engagement_id INTO engagement FROM app.touchpoints t
        WHERE t.organisation_id = NEW.organisation_id AND t.id = (r ->> 'touchpoint_id')::uuid;
        IF NEW.action = 'insert' THEN
            entries := jsonb_build_array(jsonb_build_object('type', 'action_item',
                'title', 'Action item: ' || (a ->> 'title'), 'body', coalesce('Due ' || (a ->> 'due_date'), '')));
        ELSIF NEW.action = 'update' AND b ->> 'done_at' IS NULL AND a ->> 'done_at' IS NOT NULL THEN
            entries := jsonb_build_array(jsonb_build_object('type', 'action_item_done', 'title', 'Action item done: ' || (a ->> 'title')));
        END IF;
    WHEN 'objectives' THEN
        engagement := (r ->> 'engagement_id')::uuid;
        IF NEW.action = 'insert' THEN
            entries := jsonb_build_array(jsonb_build_object('type', 'objective', 'title', 'Objective added: ' || (a ->> 'title'),
                                                            'body', a ->> 'description'));
        ELSIF NEW.action = 'update' AND b ->> 'status' IS DISTINCT FROM a ->> 'status' THEN
            entries := jsonb_build_array(jsonb_build_object('type', 'objective_status',
                'title', format('Objective %s: %s → %s', a ->> 'title', b ->> 'status', a ->> 'status')));
        END IF;
    WHEN 'initiatives' THEN
        engagement := (r ->> 'engagement_id')::uuid;
        IF NEW.action = 'insert' THEN
            entries := jsonb_build_array(jsonb_build_object('type', 'initiative',
                'title', format('Initiative added: %s (%s)', a ->> 'title', a ->> 'type')));
        ELSIF NEW.action = 'update' AND b ->> 'stage' IS DISTINCT FROM a ->> 'stage' THEN
            entries := jsonb_build_array(jsonb_build_object('type', 'initiative_stage',
                'title', format('Initiative %s: %s → %s', a ->> 'title', b ->> 'stage', a ->> 'stage')));
        END IF;
    WHEN 'playbook_runs' THEN
        engagement := (r ->> 'engagement_id')::uuid;
        IF NEW.action = 'insert' OR (NEW.action = 'update' AND b ->> 'status' IS DISTINCT FROM a ->> 'status') THEN
            entries := jsonb_build_array(jsonb_build_object(
                'type', CASE WHEN NEW.action = 'insert' THEN 'playbook_started' ELSE 'playbook_finished' END,
                'title', format('Playbook %s %s', (SELECT p.name FROM app.playbooks p WHERE p.organisation_id = NEW.organisation_id
                                                   AND p.id = (a ->> 'playbook_id')::uuid),
                                CASE WHEN NEW.action = 'insert' THEN 'started' ELSE a ->> 'status' END)));
        END IF;
    WHEN 'playbook_tasks' THEN
        IF NEW.action = 'update' AND b ->> 'status' IS DISTINCT FROM a ->> 'status' AND a ->> 'status' IN ('done', 'skipped') THEN
            SELECT x.engagement_id INTO engagement FROM app.playbook_runs x
            WHERE x.organisation_id = NEW.organisation_id AND x.id = (a ->> 'run_id')::uuid;
            entries := jsonb_build_array(jsonb_build_object('type', 'task_done',
                'title', format('Task %s: %s', a ->> 'status', a ->> 'title')));
        END IF;
    WHEN 'blueprint_applications' THEN
        engagement := (r ->> 'engagement_id')::uuid;
        IF NEW.action <> 'delete' THEN
            entries := jsonb_build_array(jsonb_build_object('type', 'blueprint_applied',
                'title', format('Blueprint %s applied (version %s)', (SELECT x.name FROM app.blueprints x
                                 WHERE x.organisation_id = NEW.organisation_id AND x.id = (a ->> 'blueprint_id')::uuid),
                                a ->> 'blueprint_version')));
        END IF;
    WHEN 'contracts', 'contract_sla_terms' THEN
        -- One entry on every engagement of the contract.
        changed := CASE WHEN NEW.action = 'update' THEN app.changed_keys(b, a) END;
        IF (NEW.action <> 'update' AND NEW.entity = 'contracts') OR coalesce(cardinality(changed) = 0, false) THEN
            RETURN NULL;
        END IF;
        INSERT INTO app.timeline_entries (organisation_id, engagement_id, occurred_at, entry_type, title, actor_user_id,
                                          entity, entity_id)
        SELECT NEW.organisation_id, e.id, NEW.at,
               CASE NEW.entity WHEN 'contracts' THEN 'contract_changed' ELSE 'sla_changed' END,
               CASE NEW.entity WHEN 'contracts' THEN format('Contract %s changed (%s)', a ->> 'reference', array_to_string(changed, ', '))
                    ELSE format('SLA term %s %s on contract %s', r ->> 'metric',
                                CASE NEW.action WHEN 'insert' THEN 'added' WHEN 'delete' THEN 'removed' ELSE 'changed' END, k.reference) END,
               NEW.user_id, NEW.entity, NEW.entity_id
        FROM app.engagements e
        JOIN app.contracts k ON k.organisation_id = e.organisation_id AND k.id = e.contract_id
        WHERE e.organisation_id = NEW.organisation_id
          AND e.contract_id = CASE NEW.entity WHEN 'contracts' THEN NEW.entity_id ELSE (r ->> 'contract_id')::uuid END;
        RETURN NULL;
    ELSE
        RETURN NULL;
    END CASE;
    INSERT INTO app.timeline_entries (organisation_id, engagement_id, occurred_at, entry_type, title, body, actor_user_id,
                                      entity, entity_id, details)
    SELECT NEW.organisation_id, engagement, NEW.at, x ->> 'type', left(x ->> 'title', 500), left(coalesce(x ->> 'body', ''), 20000),
           NEW.user_id, NEW.entity, NEW.entity_id, coalesce(x -> 'details', '{}')
    FROM jsonb_array_elements(entries) x
    -- An engagement being deleted takes its entries along; its children's deletes add none.
    WHERE EXISTS (SELECT FROM app.engagements e WHERE e.organisation_id = NEW.organisation_id AND e.id = engagement);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION app.timeline_from_audit() FROM PUBLIC;
DROP TRIGGER IF EXISTS audit_log_timeline ON app.audit_log;
CREATE TRIGGER audit_log_timeline AFTER INSERT ON app.audit_log FOR EACH ROW EXECUTE FUNCTION app.timeline_from_audit();

-- A month's health band, when it is first scored or changes (rescoring after a model change included).
CREATE OR REPLACE FUNCTION app.timeline_from_health() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.band IS NOT DISTINCT FROM OLD.band THEN
        RETURN NULL;
    END IF;
    INSERT INTO app.timeline_entries (organisation_id, engagement_id, entry_type, title, actor_user_id, entity, details)
    SELECT NEW.organisation_id, NEW.engagement_id, 'health_band',
           format('Health for %s: %s%s (%s)', to_char(NEW.period, 'YYYY-MM'),
                  CASE WHEN TG_OP = 'UPDATE' THEN OLD.band || ' → ' ELSE '' END, NEW.band, coalesce(round(NEW.score, 2)::text, 'no score')),
           nullif(current_setting('app.user_id', true), '')::uuid, 'health_scores',
           jsonb_build_object('period', to_char(NEW.period, 'YYYY-MM'), 'band', NEW.band, 'score', NEW.score,
                              -- The band before: this month's, or (a new month) the latest earlier month's.
                              'previous', CASE WHEN TG_OP = 'UPDATE' THEN OLD.band ELSE (
                                  SELECT h.band FROM app.health_scores h WHERE h.organisation_id = NEW.organisation_id
                                    AND h.engagement_id = NEW.engagement_id AND h.period < NEW.period
                                  ORDER BY h.period DESC LIMIT 1) END)
    WHERE EXISTS (SELECT FROM app.engagements e WHERE e.organisation_id = NEW.organisation_id AND e.id = NEW.engagement_id);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION app.timeline_from_health() FROM PUBLIC;
DROP TRIGGER IF EXISTS health_scores_timeline ON app.health_scores;
CREATE TRIGGER health_scores_timeline AFTER INSERT OR UPDATE OF band ON app.health_scores
    FOR EACH ROW EXECUTE FUNCTION app.timeline_from_health();

CREATE OR REPLACE FUNCTION app.timeline_entry_json(t app.timeline_entries) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('id', t.id::text, 'engagement_id', t.engagement_id, 'occurred_at', t.occurred_at,
                              'type', t.entry_type, 'title', t.title, 'body', t.body, 'actor_user_id', t.actor_user_id,
                              'entity', t.entity, 'entity_id', t.entity_id, 'details', t.details)
$$;

-- The engagements a timeline read or an event subscription covers: p.engagement_id (-32003 unless it is the
-- organisation's), with p.subtree its whole subtree; NULL: the whole organisation. -32003 without a tenant.
CREATE OR REPLACE FUNCTION app.timeline_scope(p_organisation_id uuid, p jsonb) RETURNS uuid[]
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    scope uuid[];
BEGIN
    IF p_organisation_id IS NULL THEN
        PERFORM api.not_found();
    END IF;
    IF p ->> 'engagement_id' IS NULL THEN
        RETURN NULL;
    END IF;
    IF NOT EXISTS (SELECT FROM app.engagements e WHERE e.organisation_id = p_organisation_id AND e.id = (p ->> 'engagement_id')::uuid) THEN
        PERFORM api.not_found();
    END IF;
    IF coalesce((p ->> 'subtree')::boolean, false) THEN
        SELECT array_agg(s.descendant_id) INTO scope FROM app.engagement_subtree(p_organisation_id, (p ->> 'engagement_id')::uuid) s;
        RETURN scope;
    END IF;
    RETURN ARRAY[(p ->> 'engagement_id')::uuid];
END
$$;
REVOKE ALL ON FUNCTION app.timeline_scope(uuid, jsonb) FROM PUBLIC;

-- The vetted reader (see the top of this file): one page of the caller's organisation's entries, newest first
-- unless order is asc; one engagement, its subtree, or the whole organisation; by type, time range, actor and
-- text. Each condition is added only when given, and the query is planned with its values (EXECUTE), so the
-- planner picks between the text index and a walk down the time index by how common the terms are.
CREATE OR REPLACE FUNCTION app.timeline_page(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    org constant uuid := app.current_organisation_id();
    direction constant text := CASE WHEN p ->> 'order' = 'asc' THEN 'ASC' ELSE 'DESC' END;
    page_size constant integer := coalesce((p ->> 'limit')::integer, 50);
    conditions text[] := ARRAY['t.organisation_id = $1'];
    scope uuid[];
    types text[];
    query tsquery;
    after_at timestamptz;
    after_id bigint;
    found_rows app.timeline_entries[];
BEGIN
    scope := app.timeline_scope(org, p);
    IF scope IS NOT NULL THEN
        conditions := array_append(conditions, 't.engagement_id = ANY ($2)');
    END IF;
    IF p ? 'types' THEN
        SELECT array_agg(x) INTO types FROM jsonb_array_elements_text(p -> 'types') x;
        IF NOT types <@ app.timeline_entry_types() THEN
            PERFORM api.invalid_param('types', 'names an unknown entry type');
        END IF;
        conditions := array_append(conditions, 't.entry_type = ANY ($3)');
    END IF;
    IF p ->> 'from' IS NOT NULL THEN
        conditions := array_append(conditions, 't.occurred_at >= $4');
    END IF;
    IF p ->> 'to' IS NOT NULL THEN
        conditions := array_append(conditions, 't.occurred_at < $5');
    END IF;
    IF p ->> 'actor_user_id' IS NOT NULL THEN
        conditions := array_append(conditions, 't.actor_user_id = $6');
    END IF;
    IF p ->> 'q' IS NOT NULL THEN
        -- English stemming, or the words as typed (the 'simple' lexemes the entries carry too).
        query := websearch_to_tsquery('english', p ->> 'q') || websearch_to_tsquery('simple', p ->> 'q');
        conditions := array_append(conditions, 't.search @@ $7');
    END IF;
    IF p ->> 'cursor' IS NOT NULL THEN
        BEGIN
            after_at := split_part(convert_from(decode(p ->> 'cursor', 'base64'), 'UTF8'), '|', 1)::timestamptz;
            after_id := split_part(convert_from(decode(p ->> 'cursor', 'base64'), 'UTF8'), '|', 2)::bigint;
        EXCEPTION WHEN OTHERS THEN
            after_at := NULL;
        END;
        IF after_at IS NULL OR after_id IS NULL THEN
            PERFORM api.invalid_param('cursor', 'is not a cursor of timeline.list');
        END IF;
        conditions := conditions || format('(t.occurred_at, t.id) %s ($8, $9)', CASE direction WHEN 'ASC' THEN '>' ELSE '<' END);
    END IF;
    EXECUTE format(
        'SELECT coalesce(array_agg(x.t ORDER BY (x.t).occurred_at %1$s, (x.t).id %1$s), ''{}'') FROM ('
        '  SELECT t FROM app.timeline_entries t WHERE %2$s ORDER BY t.occurred_at %1$s, t.id %1$s LIMIT %3$s) x',
        direction, array_to_string(conditions, ' AND '), page_size + 1)
    INTO found_rows
    USING org, scope, types, (p ->> 'from')::timestamptz, (p ->> 'to')::timestamptz, (p ->> 'actor_user_id')::uuid,
          query, after_at, after_id;
    RETURN jsonb_build_object(
        'items', coalesce((SELECT jsonb_agg(app.timeline_entry_json(found_rows[i]) ORDER BY i)
                           FROM generate_subscripts(found_rows, 1) i WHERE i <= page_size), '[]'),
        'next_cursor', CASE WHEN cardinality(found_rows) > page_size THEN
            encode(convert_to(found_rows[page_size].occurred_at::text || '|' || found_rows[page_size].id, 'UTF8'), 'base64') END);
END
$$;
REVOKE ALL ON FUNCTION app.timeline_page(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.timeline_page(jsonb) TO engagement_app;

CREATE OR REPLACE FUNCTION api.timeline_list(p jsonb) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT app.timeline_page(p) $$;

-- A note on an engagement, in the caller's name (the insert policy admits notes only).
CREATE OR REPLACE FUNCTION api.timeline_note(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    engagement app.engagements := api.engagement_of(p);
    reply jsonb := api.replay('timeline.note', p);
    created app.timeline_entries;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.timeline_entries (organisation_id, engagement_id, entry_type, title, body, actor_user_id)
    VALUES (engagement.organisation_id, engagement.id, 'note', btrim(p ->> 'title'), coalesce(p ->> 'body', ''),
            app.current_user_id())
    RETURNING * INTO created;
    RETURN api.remember('timeline.note', p, app.timeline_entry_json(created));
END
$$;

REVOKE ALL ON FUNCTION app.timeline_entry_types(), app.changed_keys(jsonb, jsonb), app.timeline_entry_json(app.timeline_entries),
    api.timeline_list(jsonb), api.timeline_note(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.timeline_entry_types(), app.changed_keys(jsonb, jsonb), app.timeline_entry_json(app.timeline_entries),
    api.timeline_list(jsonb), api.timeline_note(jsonb) TO engagement_app;

-- For DBAs: the entries, and a search that stays within the login's organisation (the same vetted shape as
-- app.timeline_page: a definer function reading the caller's organisation itself, so the text index serves).
CREATE OR REPLACE VIEW reporting.timeline WITH (security_barrier) AS
SELECT t.id, t.engagement_id, e.code AS engagement_code, t.occurred_at, t.entry_type, t.title, t.body,
       t.actor_user_id, u.email AS actor_email, t.entity, t.entity_id, t.details
FROM app.timeline_entries t
JOIN app.engagements e ON e.organisation_id = t.organisation_id AND e.id = t.engagement_id
LEFT JOIN app.users u ON u.organisation_id = t.organisation_id AND u.id = t.actor_user_id
WHERE t.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.timeline TO engagement_reporting;

CREATE OR REPLACE FUNCTION reporting.search_timeline(query text, max_rows integer DEFAULT 50)
RETURNS TABLE (id bigint, engagement_code text, occurred_at timestamptz, entry_type text, title text, body text, rank real)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.id, e.code, t.occurred_at, t.entry_type, t.title, t.body,
           ts_rank(t.search, websearch_to_tsquery('english', query) || websearch_to_tsquery('simple', query))
    FROM app.timeline_entries t
    JOIN app.engagements e ON e.organisation_id = t.organisation_id AND e.id = t.engagement_id
    WHERE t.organisation_id = app.current_organisation_id()
      AND t.search @@ (websearch_to_tsquery('english', query) || websearch_to_tsquery('simple', query))
    ORDER BY t.occurred_at DESC, t.id DESC
    LIMIT least(greatest(max_rows, 1), 1000)
$$;
REVOKE ALL ON FUNCTION reporting.search_timeline(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reporting.search_timeline(text, integer) TO engagement_reporting;
