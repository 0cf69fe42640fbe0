-- Success blueprints: reusable sets of objectives with their outcomes and initiatives, for a product or use case.
-- They sit beside engagement templates (docs/architecture.md says why). Applying one to an engagement copies what
-- the engagement lacks of the blueprint's current version as the engagement's own items (dates offset from the
-- engagement's start and kept within its end; an outcome naming a KPI is bound to the engagement's KPI of that
-- name, which is added when missing). Edits to a blueprint never rewrite engagements: blueprint.gaps shows what an
-- engagement lacks against the current version, and applying again adds it.

-- The document as stored: psql writes are checked like the API's (EV031 names the item) and every item gets a
-- stable key.
CREATE OR REPLACE FUNCTION app.check_blueprint() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    objective jsonb;
    child jsonb;
    at text;
    outcomes jsonb;
    initiatives jsonb;
    keyed jsonb := '[]';
    i integer := 0;
    j integer;
    duplicate text;
BEGIN
    IF jsonb_array_length(NEW.objectives) = 0 THEN
        RAISE EXCEPTION 'needs at least one objective' USING ERRCODE = 'EV031', COLUMN = 'objectives';
    END IF;
    FOR objective IN SELECT value FROM jsonb_array_elements(NEW.objectives) LOOP
        at := format('objectives[%s]', i);
        IF jsonb_typeof(objective) <> 'object' OR length(btrim(coalesce(objective ->> 'title', ''))) = 0 THEN
            RAISE EXCEPTION 'needs a title' USING ERRCODE = 'EV031', COLUMN = at || '.title';
        END IF;
        IF objective ? 'target_offset_days' AND (jsonb_typeof(objective -> 'target_offset_days') <> 'number'
                                                 OR (objective ->> 'target_offset_days')::numeric < 0) THEN
            RAISE EXCEPTION 'must be a number of days, 0 or more' USING ERRCODE = 'EV031', COLUMN = at || '.target_offset_days';
        END IF;
        outcomes := '[]';
        j := 0;
        FOR child IN SELECT value FROM jsonb_array_elements(coalesce(objective -> 'outcomes', '[]')) LOOP
            IF jsonb_typeof(child) <> 'object' OR length(btrim(coalesce(child ->> 'title', ''))) = 0 THEN
                RAISE EXCEPTION 'needs a title' USING ERRCODE = 'EV031', COLUMN = format('%s.outcomes[%s].title', at, j);
            END IF;
            IF jsonb_typeof(child -> 'target') IS DISTINCT FROM 'number' THEN
                RAISE EXCEPTION 'needs a number' USING ERRCODE = 'EV031', COLUMN = format('%s.outcomes[%s].target', at, j);
            END IF;
            IF coalesce(child ->> 'direction', 'higher_is_better') NOT IN ('higher_is_better', 'lower_is_better') THEN
                RAISE EXCEPTION 'must be higher_is_better or lower_is_better' USING ERRCODE = 'EV031',
                    COLUMN = format('%s.outcomes[%s].direction', at, j);
            END IF;
            outcomes := outcomes || jsonb_build_array(jsonb_build_object('key', coalesce(child ->> 'key', gen_random_uuid()::text)) || child - 'key');
            j := j + 1;
        END LOOP;
        initiatives := '[]';
        j := 0;
        FOR child IN SELECT value FROM jsonb_array_elements(coalesce(objective -> 'initiatives', '[]')) LOOP
            IF jsonb_typeof(child) <> 'object' OR length(btrim(coalesce(child ->> 'title', ''))) = 0 THEN
                RAISE EXCEPTION 'needs a title' USING ERRCODE = 'EV031', COLUMN = format('%s.initiatives[%s].title', at, j);
            END IF;
            IF NOT EXISTS (SELECT FROM app.initiative_types t WHERE t.organisation_id = NEW.organisation_id
                           AND t.name = child ->> 'type') THEN
                RAISE EXCEPTION 'is not one of the organisation''s initiative types' USING ERRCODE = 'EV031',
                    COLUMN = format('%s.initiatives[%s].type', at, j);
            END IF;
            IF child ? 'due_offset_days' AND (jsonb_typeof(child -> 'due_offset_days') <> 'number'
                                              OR (child ->> 'due_offset_days')::numeric < 0) THEN
                RAISE EXCEPTION 'must be a number of days, 0 or more' USING ERRCODE = 'EV031',
                    COLUMN = format('%s.initiatives[%s].due_offset_days', at, j);
            END IF;
            initiatives := initiatives || jsonb_build_array(jsonb_build_object('key', coalesce(child ->> 'key', gen_random_uuid()::text)) || child - 'key');
            j := j + 1;
        END LOOP;
        keyed := keyed || jsonb_build_array(jsonb_build_object('key', coalesce(objective ->> 'key', gen_random_uuid()::text))
                                            || objective - 'key' || jsonb_build_object('outcomes', outcomes, 'initiatives', initiatives));
        i := i + 1;
    END LOOP;
    SELECT k INTO duplicate FROM (
        SELECT o ->> 'key' AS k FROM jsonb_array_elements(keyed) o
        UNION ALL SELECT c ->> 'key' FROM jsonb_array_elements(keyed) o, jsonb_array_elements(o -> 'outcomes') c
        UNION ALL SELECT c ->> 'key' FROM jsonb_array_elements(keyed) o, jsonb_array_elements(o -> 'initiatives') c) keys
    GROUP BY k HAVING count(*) > 1 OR k !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'item keys must be distinct uuids (%)', duplicate USING ERRCODE = 'EV031', COLUMN = 'objectives';
    END IF;
    NEW.objectives := keyed;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS blueprints_check ON app.blueprints;
CREATE TRIGGER blueprints_check BEFORE INSERT OR UPDATE OF objectives ON app.blueprints
    FOR EACH ROW EXECUTE FUNCTION app.check_blueprint();
DROP TRIGGER IF EXISTS blueprints_touch ON app.blueprints;
CREATE TRIGGER blueprints_touch BEFORE UPDATE ON app.blueprints FOR EACH ROW EXECUTE FUNCTION app.touch();
DROP TRIGGER IF EXISTS blueprints_audit ON app.blueprints;
CREATE TRIGGER blueprints_audit AFTER INSERT OR UPDATE OR DELETE ON app.blueprints FOR EACH ROW EXECUTE FUNCTION app.audit();
DROP TRIGGER IF EXISTS blueprint_applications_audit ON app.blueprint_applications;
CREATE TRIGGER blueprint_applications_audit AFTER INSERT OR UPDATE OR DELETE ON app.blueprint_applications
    FOR EACH ROW EXECUTE FUNCTION app.audit('engagement_id');

CREATE OR REPLACE FUNCTION app.blueprint_json(b app.blueprints) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'id', b.id, 'name', b.name, 'description', b.description, 'product_id', b.product_id, 'objectives', b.objectives,
        'archived', b.archived_at IS NOT NULL,
        'applied_to', (SELECT count(*) FROM app.blueprint_applications a
                       WHERE a.organisation_id = b.organisation_id AND a.blueprint_id = b.id),
        'version', b.version, 'created_at', b.created_at, 'updated_at', b.updated_at)
$$;

-- What an engagement lacks of a blueprint's current version: one entry per objective, outcome and initiative
-- whose key has no copy in the engagement, in the blueprint's order.
CREATE OR REPLACE FUNCTION app.blueprint_missing(p_blueprint app.blueprints, p_engagement uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(jsonb_agg(m.item ORDER BY m.i, m.section, m.j), '[]'::jsonb)
    FROM (
        SELECT o.i, 0 AS section, 0 AS j,
               jsonb_build_object('kind', 'objective', 'key', o.v ->> 'key', 'title', o.v ->> 'title',
                                  'mandatory', coalesce((o.v ->> 'mandatory')::boolean, false), 'objective_key', o.v ->> 'key') AS item
        FROM jsonb_array_elements(p_blueprint.objectives) WITH ORDINALITY o(v, i)
        WHERE NOT EXISTS (SELECT FROM app.objectives x WHERE x.organisation_id = p_blueprint.organisation_id
                          AND x.engagement_id = p_engagement AND x.blueprint_key = (o.v ->> 'key')::uuid)
        UNION ALL
        SELECT o.i, 1, c.j,
               jsonb_build_object('kind', 'outcome', 'key', c.v ->> 'key', 'title', c.v ->> 'title',
                                  'mandatory', coalesce((c.v ->> 'mandatory')::boolean, false), 'objective_key', o.v ->> 'key')
        FROM jsonb_array_elements(p_blueprint.objectives) WITH ORDINALITY o(v, i),
             jsonb_array_elements(o.v -> 'outcomes') WITH ORDINALITY c(v, j)
        WHERE NOT EXISTS (SELECT FROM app.outcomes x WHERE x.organisation_id = p_blueprint.organisation_id
                          AND x.engagement_id = p_engagement AND x.blueprint_key = (c.v ->> 'key')::uuid)
        UNION ALL
        SELECT o.i, 2, c.j,
               jsonb_build_object('kind', 'initiative', 'key', c.v ->> 'key', 'title', c.v ->> 'title',
                                  'mandatory', coalesce((c.v ->> 'mandatory')::boolean, false), 'objective_key', o.v ->> 'key')
        FROM jsonb_array_elements(p_blueprint.objectives) WITH ORDINALITY o(v, i),
             jsonb_array_elements(o.v -> 'initiatives') WITH ORDINALITY c(v, j)
        WHERE NOT EXISTS (SELECT FROM app.initiatives x WHERE x.organisation_id = p_blueprint.organisation_id
                          AND x.engagement_id = p_engagement AND x.blueprint_key = (c.v ->> 'key')::uuid)) m
$$;

CREATE OR REPLACE FUNCTION api.blueprint_paths() RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT '{"blueprints_name_unique": "name", "blueprints_product_fk": "product_id"}'::jsonb
$$;

CREATE OR REPLACE FUNCTION api.blueprint_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('blueprint.create', p);
    created app.blueprints;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.blueprints (organisation_id, name, description, product_id, objectives, created_by, updated_by)
    VALUES (app.current_organisation_id(), btrim(p ->> 'name'), coalesce(p ->> 'description', ''),
            (p ->> 'product_id')::uuid, p -> 'objectives', app.current_user_id(), app.current_user_id())
    RETURNING * INTO created;
    RETURN api.remember('blueprint.create', p, app.blueprint_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.blueprint_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.blueprint_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.blueprint_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.blueprints;
BEGIN
    SELECT * INTO item FROM app.blueprints WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.blueprint_json(item);
END
$$;

-- A new document makes a new version; engagements keep their copies (blueprint.gaps compares).
CREATE OR REPLACE FUNCTION api.blueprint_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_now timestamptz := now();
    current_version integer;
    updated app.blueprints;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.blueprints row SET
        name = coalesce(btrim(p ->> 'name'), row.name),
        description = coalesce(p ->> 'description', row.description),
        product_id = CASE WHEN p ? 'product_id' THEN (p ->> 'product_id')::uuid ELSE row.product_id END,
        objectives = coalesce(p -> 'objectives', row.objectives),
        archived_at = CASE WHEN NOT p ? 'archived' THEN row.archived_at
                           WHEN (p ->> 'archived')::boolean THEN coalesce(row.archived_at, v_now) END
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.blueprints WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.blueprint_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.blueprint_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.blueprint_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.blueprint_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.blueprints', 'app.blueprint_json',
        $filter$
            ($1 ->> 'q' IS NULL OR row.name ILIKE api.contains_pattern($1 ->> 'q'))
        AND ($1 ->> 'product_id' IS NULL OR row.product_id = ($1 ->> 'product_id')::uuid)
        AND (coalesce(($1 ->> 'include_archived')::boolean, false) OR row.archived_at IS NULL)
        $filter$,
        '{"name": ["name", "text"], "created_at": ["created_at", "timestamptz"]}');
END
$$;

-- The blueprint and engagement a gaps or apply call names.
CREATE OR REPLACE FUNCTION api.blueprint_of(p jsonb) RETURNS app.blueprints
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.blueprints;
BEGIN
    SELECT * INTO item FROM app.blueprints WHERE id = (p ->> 'blueprint_id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.invalid_param('blueprint_id', 'does not exist');
    END IF;
    RETURN item;
END
$$;

CREATE OR REPLACE FUNCTION api.blueprint_gaps(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    engagement app.engagements := api.engagement_of(p);
    blueprint app.blueprints := api.blueprint_of(p);
    applied app.blueprint_applications;
BEGIN
    SELECT * INTO applied FROM app.blueprint_applications WHERE engagement_id = engagement.id AND blueprint_id = blueprint.id;
    RETURN jsonb_build_object('engagement_id', engagement.id, 'blueprint_id', blueprint.id,
                              'current_version', blueprint.version, 'applied_version', applied.blueprint_version,
                              'applied_at', applied.applied_at, 'missing', app.blueprint_missing(blueprint, engagement.id));
END
$$;

-- Copies what the engagement lacks (with mandatory_only: the mandatory items and the objectives holding them).
CREATE OR REPLACE FUNCTION api.blueprint_apply(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    engagement app.engagements := api.engagement_of(p);
    blueprint app.blueprints := api.blueprint_of(p);
    only_mandatory constant boolean := coalesce((p ->> 'mandatory_only')::boolean, false);
    base date := coalesce(engagement.start_date, current_date);
    objective jsonb;
    child jsonb;
    held app.objectives;
    kpi uuid;
    added integer;
    counts jsonb := '{"objectives": 0, "outcomes": 0, "initiatives": 0}';
BEGIN
    IF blueprint.archived_at IS NOT NULL THEN
        PERFORM api.invalid_param('blueprint_id', 'is archived');
    END IF;
    IF engagement.status = 'archived' THEN
        RAISE EXCEPTION 'an archived engagement gets no new items' USING ERRCODE = 'ES012', HINT = 'archived';
    END IF;
    FOR objective IN SELECT value FROM jsonb_array_elements(blueprint.objectives) LOOP
        CONTINUE WHEN only_mandatory AND NOT coalesce((objective ->> 'mandatory')::boolean, false)
            AND NOT jsonb_path_exists(objective, '$.outcomes[*] ? (@.mandatory == true)')
            AND NOT jsonb_path_exists(objective, '$.initiatives[*] ? (@.mandatory == true)');
        INSERT INTO app.objectives (organisation_id, engagement_id, title, description, target_date, mandatory,
                                    blueprint_id, blueprint_key, created_by, updated_by)
        VALUES (engagement.organisation_id, engagement.id, btrim(objective ->> 'title'), coalesce(objective ->> 'description', ''),
                least(base + coalesce((objective ->> 'target_offset_days')::integer, 0), engagement.end_date),
                coalesce((objective ->> 'mandatory')::boolean, false), blueprint.id, (objective ->> 'key')::uuid,
                app.current_user_id(), app.current_user_id())
        ON CONFLICT (organisation_id, engagement_id, blueprint_key) DO NOTHING;
        GET DIAGNOSTICS added = ROW_COUNT;
        counts := jsonb_set(counts, '{objectives}', to_jsonb((counts ->> 'objectives')::integer + added));
        SELECT * INTO held FROM app.objectives WHERE engagement_id = engagement.id AND blueprint_key = (objective ->> 'key')::uuid;
        FOR child IN SELECT value FROM jsonb_array_elements(objective -> 'outcomes') LOOP
            CONTINUE WHEN only_mandatory AND NOT coalesce((child ->> 'mandatory')::boolean, false);
            CONTINUE WHEN EXISTS (SELECT FROM app.outcomes WHERE engagement_id = engagement.id
                                  AND blueprint_key = (child ->> 'key')::uuid);
            kpi := NULL;
            IF child ->> 'kpi' IS NOT NULL THEN
                SELECT id INTO kpi FROM app.engagement_kpis
                WHERE engagement_id = engagement.id AND lower(name) = lower(btrim(child ->> 'kpi'));
                IF kpi IS NULL THEN
                    INSERT INTO app.engagement_kpis (organisation_id, engagement_id, name, unit, target, direction,
                                                     created_by, updated_by)
                    VALUES (engagement.organisation_id, engagement.id, btrim(child ->> 'kpi'), coalesce(child ->> 'unit', ''),
                            (child ->> 'target')::numeric, coalesce(child ->> 'direction', 'higher_is_better'),
                            app.current_user_id(), app.current_user_id())
                    RETURNING id INTO kpi;
                END IF;
            END IF;
            INSERT INTO app.outcomes (organisation_id, engagement_id, objective_id, title, unit, target, direction, kpi_id,
                                      mandatory, blueprint_key, created_by, updated_by)
            VALUES (engagement.organisation_id, engagement.id, held.id, btrim(child ->> 'title'), coalesce(child ->> 'unit', ''),
                    (child ->> 'target')::numeric, coalesce(child ->> 'direction', 'higher_is_better'), kpi,
                    coalesce((child ->> 'mandatory')::boolean, false), (child ->> 'key')::uuid,
                    app.current_user_id(), app.current_user_id());
            counts := jsonb_set(counts, '{outcomes}', to_jsonb((counts ->> 'outcomes')::integer + 1));
        END LOOP;
        FOR child IN SELECT value FROM jsonb_array_elements(objective -> 'initiatives') LOOP
            CONTINUE WHEN only_mandatory AND NOT coalesce((child ->> 'mandatory')::boolean, false);
            INSERT INTO app.initiatives (organisation_id, engagement_id, objective_id, title, type, due_date, mandatory,
                                         blueprint_key, created_by, updated_by)
            VALUES (engagement.organisation_id, engagement.id, held.id, btrim(child ->> 'title'), child ->> 'type',
                    least(base + coalesce((child ->> 'due_offset_days')::integer, 0), engagement.end_date),
                    coalesce((child ->> 'mandatory')::boolean, false), (child ->> 'key')::uuid,
                    app.current_user_id(), app.current_user_id())
            ON CONFLICT (organisation_id, engagement_id, blueprint_key) DO NOTHING;
            GET DIAGNOSTICS added = ROW_COUNT;
            counts := jsonb_set(counts, '{initiatives}', to_jsonb((counts ->> 'initiatives')::integer + added));
        END LOOP;
    END LOOP;
    INSERT INTO app.blueprint_applications AS a (organisation_id, engagement_id, blueprint_id, blueprint_version, applied_by)
    VALUES (engagement.organisation_id, engagement.id, blueprint.id, blueprint.version, app.current_user_id())
    ON CONFLICT (organisation_id, engagement_id, blueprint_id)
    DO UPDATE SET blueprint_version = EXCLUDED.blueprint_version, applied_at = now(), applied_by = EXCLUDED.applied_by;
    RETURN jsonb_build_object(
        'engagement_id', engagement.id, 'blueprint_id', blueprint.id, 'blueprint_version', blueprint.version,
        'added', counts, 'missing', app.blueprint_missing(blueprint, engagement.id),
        'objectives', coalesce((SELECT jsonb_agg(app.objective_json(o) ORDER BY o.created_at, o.id) FROM app.objectives o
                                WHERE o.engagement_id = engagement.id AND o.blueprint_id = blueprint.id), '[]'::jsonb));
END
$$;

REVOKE ALL ON FUNCTION app.check_blueprint(), app.blueprint_json(app.blueprints),
    app.blueprint_missing(app.blueprints, uuid), api.blueprint_paths(), api.blueprint_create(jsonb),
    api.blueprint_get(jsonb), api.blueprint_update(jsonb), api.blueprint_list(jsonb), api.blueprint_of(jsonb),
    api.blueprint_gaps(jsonb), api.blueprint_apply(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.check_blueprint(), app.blueprint_json(app.blueprints),
    app.blueprint_missing(app.blueprints, uuid), api.blueprint_paths(), api.blueprint_create(jsonb),
    api.blueprint_get(jsonb), api.blueprint_update(jsonb), api.blueprint_list(jsonb), api.blueprint_of(jsonb),
    api.blueprint_gaps(jsonb), api.blueprint_apply(jsonb) TO engagement_app;

-- For DBAs: one row per blueprint item, and which engagements have which version.
CREATE OR REPLACE VIEW reporting.blueprint_items WITH (security_barrier) AS
SELECT b.id AS blueprint_id, b.name AS blueprint_name, b.version AS blueprint_version, b.product_id,
       b.archived_at IS NOT NULL AS archived, items.kind, items.key, items.objective_key, items.title, items.mandatory
FROM app.blueprints b
CROSS JOIN LATERAL (
    SELECT 'objective' AS kind, (o.v ->> 'key')::uuid AS key, (o.v ->> 'key')::uuid AS objective_key, o.v ->> 'title' AS title,
           coalesce((o.v ->> 'mandatory')::boolean, false) AS mandatory, o.i AS i, 0 AS section, 0::bigint AS j
    FROM jsonb_array_elements(b.objectives) WITH ORDINALITY o(v, i)
    UNION ALL
    SELECT s.kind, (c.v ->> 'key')::uuid, (o.v ->> 'key')::uuid, c.v ->> 'title', coalesce((c.v ->> 'mandatory')::boolean, false),
           o.i, s.section, c.j
    FROM jsonb_array_elements(b.objectives) WITH ORDINALITY o(v, i)
    CROSS JOIN (VALUES ('outcome', 'outcomes', 1), ('initiative', 'initiatives', 2)) s(kind, field, section)
    CROSS JOIN LATERAL jsonb_array_elements(o.v -> s.field) WITH ORDINALITY c(v, j)) items
WHERE b.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.blueprint_items TO engagement_reporting;

CREATE OR REPLACE VIEW reporting.blueprint_applications WITH (security_barrier) AS
SELECT a.engagement_id, e.code AS engagement_code, a.blueprint_id, b.name AS blueprint_name,
       a.blueprint_version AS applied_version, b.version AS current_version, a.blueprint_version < b.version AS behind,
       a.applied_at, a.applied_by
FROM app.blueprint_applications a
JOIN app.blueprints b ON b.organisation_id = a.organisation_id AND b.id = a.blueprint_id
JOIN app.engagements e ON e.organisation_id = a.organisation_id AND e.id = a.engagement_id
WHERE a.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.blueprint_applications TO engagement_reporting;
