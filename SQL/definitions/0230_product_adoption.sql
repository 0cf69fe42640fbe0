-- Product adoption. Scores, each 0–100 (docs/protocol.md states the formula):
--   capability score      = min(100, usage / target × 100)  (a capability without usage that month scores 0)
--   capability coverage   = mean of the product's capability scores
--   licence utilisation   = min(100, active / purchased × 100)  (none when nothing was purchased)
--   adoption score        = mean of licence utilisation and capability coverage, over those that exist

DROP TRIGGER IF EXISTS products_touch ON app.products;
CREATE TRIGGER products_touch BEFORE UPDATE ON app.products FOR EACH ROW EXECUTE FUNCTION app.touch();
DROP TRIGGER IF EXISTS products_audit ON app.products;
CREATE TRIGGER products_audit AFTER INSERT OR UPDATE OR DELETE ON app.products FOR EACH ROW EXECUTE FUNCTION app.audit();
DROP TRIGGER IF EXISTS capabilities_audit ON app.capabilities;
CREATE TRIGGER capabilities_audit AFTER INSERT OR UPDATE OR DELETE ON app.capabilities
    FOR EACH ROW EXECUTE FUNCTION app.audit('product_id');
DROP TRIGGER IF EXISTS adoption_months_audit ON app.adoption_months;
CREATE TRIGGER adoption_months_audit AFTER INSERT OR UPDATE OR DELETE ON app.adoption_months
    FOR EACH ROW EXECUTE FUNCTION app.audit();

-- Adoption is recorded for months within the engagement's dates (EV040 names the param).
CREATE OR REPLACE FUNCTION app.check_adoption_month() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    engagement app.engagements;
BEGIN
    SELECT * INTO engagement FROM app.engagements WHERE organisation_id = NEW.organisation_id AND id = NEW.engagement_id;
    IF FOUND AND (NEW.period < date_trunc('month', engagement.start_date)::date OR NEW.period > engagement.end_date) THEN
        RAISE EXCEPTION 'is outside the engagement''s dates' USING ERRCODE = 'EV040', COLUMN = 'period';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS adoption_months_check ON app.adoption_months;
CREATE TRIGGER adoption_months_check BEFORE INSERT OR UPDATE ON app.adoption_months
    FOR EACH ROW EXECUTE FUNCTION app.check_adoption_month();

CREATE OR REPLACE FUNCTION app.product_json(p app.products) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (
        SELECT jsonb_build_object(
            'id', p.id, 'name', p.name, 'description', p.description, 'archived', p.archived_at IS NOT NULL,
            'capabilities', coalesce((SELECT jsonb_agg(jsonb_build_object('id', c.id, 'name', c.name, 'usage_target', c.usage_target)
                                                       ORDER BY lower(c.name))
                                      FROM app.capabilities c WHERE c.organisation_id = p.organisation_id AND c.product_id = p.id), '[]'::jsonb),
            'version', p.version, 'created_at', p.created_at, 'updated_at', p.updated_at));
END
$$;

-- One month of one product on one engagement, with its scores.
CREATE OR REPLACE FUNCTION app.adoption_month_json(m app.adoption_months) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    WITH capability AS (
        SELECT c.name, c.usage_target, coalesce(u.usage_count, 0) AS usage,
               round(least(100, coalesce(u.usage_count, 0) / c.usage_target * 100), 2) AS score
        FROM app.capabilities c
        LEFT JOIN app.capability_usage u ON u.organisation_id = c.organisation_id AND u.capability_id = c.id
                                        AND u.adoption_month_id = m.id
        WHERE c.organisation_id = m.organisation_id AND c.product_id = m.product_id),
    parts AS (
        SELECT CASE WHEN m.licences_purchased > 0
                    THEN round(least(100, m.licences_active::numeric / m.licences_purchased * 100), 2) END AS utilisation,
               (SELECT round(avg(score), 2) FROM capability) AS coverage)
    SELECT jsonb_build_object(
        'engagement_id', m.engagement_id, 'product_id', m.product_id,
        'product', (SELECT p.name FROM app.products p WHERE p.organisation_id = m.organisation_id AND p.id = m.product_id),
        'period', to_char(m.period, 'YYYY-MM'), 'licences_purchased', m.licences_purchased,
        'licences_active', m.licences_active, 'licence_utilisation', parts.utilisation,
        'capabilities', coalesce((SELECT jsonb_agg(jsonb_build_object('capability', name, 'usage', usage, 'target', usage_target,
                                                                      'score', score) ORDER BY lower(name)) FROM capability), '[]'::jsonb),
        'capability_coverage', parts.coverage,
        'adoption_score', (SELECT round(avg(x), 2) FROM unnest(ARRAY[parts.utilisation, parts.coverage]) x))
    FROM parts
$$;

CREATE OR REPLACE FUNCTION api.product_paths() RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT '{"products_name_unique": "name", "capabilities_name_unique": "name", "capabilities_target": "usage_target",
             "adoption_months_engagement_fk": "engagement_id", "adoption_months_product_fk": "product_id"}'::jsonb
$$;

CREATE OR REPLACE FUNCTION api.product_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('product.create', p);
    created app.products;
    capability jsonb;
    i integer := 0;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.products (organisation_id, name, description, created_by, updated_by)
    VALUES (app.current_organisation_id(), btrim(p ->> 'name'), coalesce(p ->> 'description', ''),
            app.current_user_id(), app.current_user_id())
    RETURNING * INTO created;
    FOR capability IN SELECT value FROM jsonb_array_elements(coalesce(p -> 'capabilities', '[]')) LOOP
        IF (capability ->> 'usage_target')::numeric <= 0 THEN
            PERFORM api.invalid_param(format('capabilities[%s].usage_target', i), 'must be more than 0');
        END IF;
        IF EXISTS (SELECT FROM app.capabilities WHERE product_id = created.id AND lower(name) = lower(btrim(capability ->> 'name'))) THEN
            PERFORM api.invalid_param(format('capabilities[%s].name', i), 'is given twice');
        END IF;
        INSERT INTO app.capabilities (organisation_id, product_id, name, usage_target)
        VALUES (created.organisation_id, created.id, btrim(capability ->> 'name'), (capability ->> 'usage_target')::numeric);
        i := i + 1;
    END LOOP;
    RETURN api.remember('product.create', p, app.product_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.product_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.product_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.product_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.products;
BEGIN
    SELECT * INTO item FROM app.products WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN app.product_json(item);
END
$$;

CREATE OR REPLACE FUNCTION api.product_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_now timestamptz := now();
    current_version integer;
    updated app.products;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.products row SET
        name = coalesce(btrim(p ->> 'name'), row.name),
        description = coalesce(p ->> 'description', row.description),
        archived_at = CASE WHEN NOT p ? 'archived' THEN row.archived_at
                           WHEN (p ->> 'archived')::boolean THEN coalesce(row.archived_at, v_now) END
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.products WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.product_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.product_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.product_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.product_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.products', 'app.product_json',
        $filter$
            ($1 ->> 'q' IS NULL OR row.name ILIKE api.contains_pattern($1 ->> 'q'))
        AND (coalesce(($1 ->> 'include_archived')::boolean, false) OR row.archived_at IS NULL)
        $filter$,
        '{"name": ["name", "text"], "created_at": ["created_at", "timestamptz"]}');
END
$$;

-- Adds a capability, or changes the target of the one of that name (case-insensitive).
CREATE OR REPLACE FUNCTION api.product_set_capability(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    item app.products;
    state text;
    failed_constraint text;
    message text;
BEGIN
    SELECT * INTO item FROM app.products WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    UPDATE app.capabilities SET usage_target = (p ->> 'usage_target')::numeric
    WHERE product_id = item.id AND lower(name) = lower(btrim(p ->> 'name'));
    IF NOT FOUND THEN
        INSERT INTO app.capabilities (organisation_id, product_id, name, usage_target)
        VALUES (item.organisation_id, item.id, btrim(p ->> 'name'), (p ->> 'usage_target')::numeric);
    END IF;
    RETURN app.product_json(item);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.product_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.product_paths());
END
$$;

-- A capability with recorded usage stays (-32004 in_use).
CREATE OR REPLACE FUNCTION api.product_remove_capability(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    item app.products;
BEGIN
    SELECT * INTO item FROM app.products WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    DELETE FROM app.capabilities WHERE product_id = item.id AND lower(name) = lower(btrim(p ->> 'name'));
    IF NOT FOUND THEN
        PERFORM api.invalid_param('name', 'is not a capability of this product');
    END IF;
    RETURN app.product_json(item);
END
$$;

-- Records (or replaces) one month of a product on an engagement: licences and the usage of each capability, by
-- name; capabilities left out had no usage.
CREATE OR REPLACE FUNCTION api.adoption_record(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    product app.products;
    month app.adoption_months;
    usage jsonb;
    found_capability uuid;
    i integer := 0;
    state text;
    failed_constraint text;
    message text;
BEGIN
    SELECT * INTO product FROM app.products WHERE id = (p ->> 'product_id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.invalid_param('product_id', 'does not exist');
    END IF;
    INSERT INTO app.adoption_months AS m (organisation_id, engagement_id, product_id, period, licences_purchased, licences_active)
    VALUES (app.current_organisation_id(), (p ->> 'engagement_id')::uuid, product.id, to_date(p ->> 'period', 'YYYY-MM'),
            (p ->> 'licences_purchased')::integer, (p ->> 'licences_active')::integer)
    ON CONFLICT ON CONSTRAINT adoption_months_unique DO UPDATE
        SET licences_purchased = EXCLUDED.licences_purchased, licences_active = EXCLUDED.licences_active, updated_at = now()
    RETURNING * INTO month;
    DELETE FROM app.capability_usage WHERE adoption_month_id = month.id;
    FOR usage IN SELECT value FROM jsonb_array_elements(coalesce(p -> 'usage', '[]')) LOOP
        SELECT c.id INTO found_capability FROM app.capabilities c
        WHERE c.product_id = product.id AND lower(c.name) = lower(btrim(usage ->> 'capability'));
        IF NOT FOUND THEN
            PERFORM api.invalid_param(format('usage[%s].capability', i), 'is not a capability of this product');
        END IF;
        IF EXISTS (SELECT FROM app.capability_usage u WHERE u.adoption_month_id = month.id AND u.capability_id = found_capability) THEN
            PERFORM api.invalid_param(format('usage[%s].capability', i), 'is given twice');
        END IF;
        INSERT INTO app.capability_usage (organisation_id, adoption_month_id, capability_id, usage_count)
        VALUES (month.organisation_id, month.id, found_capability, (usage ->> 'count')::numeric);
        i := i + 1;
    END LOOP;
    RETURN app.adoption_month_json(month);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.product_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.product_paths());
END
$$;

-- An engagement's adoption per month and product, oldest first.
CREATE OR REPLACE FUNCTION api.adoption_report(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    engagement app.engagements := api.engagement_of(p);
BEGIN
    RETURN coalesce((
        SELECT jsonb_agg(app.adoption_month_json(m) ORDER BY m.period,
                         (SELECT lower(pr.name) FROM app.products pr WHERE pr.organisation_id = m.organisation_id AND pr.id = m.product_id))
        FROM app.adoption_months m
        WHERE m.organisation_id = engagement.organisation_id AND m.engagement_id = engagement.id
          AND (p ->> 'product_id' IS NULL OR m.product_id = (p ->> 'product_id')::uuid)
          AND (p ->> 'from' IS NULL OR m.period >= to_date(p ->> 'from', 'YYYY-MM'))
          AND (p ->> 'to' IS NULL OR m.period <= to_date(p ->> 'to', 'YYYY-MM'))), '[]'::jsonb);
END
$$;

REVOKE ALL ON FUNCTION app.product_json(app.products), app.adoption_month_json(app.adoption_months), api.product_paths(),
    api.product_create(jsonb), api.product_get(jsonb), api.product_update(jsonb), api.product_list(jsonb),
    api.product_set_capability(jsonb), api.product_remove_capability(jsonb), api.adoption_record(jsonb),
    api.adoption_report(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.product_json(app.products), app.adoption_month_json(app.adoption_months), api.product_paths(),
    api.product_create(jsonb), api.product_get(jsonb), api.product_update(jsonb), api.product_list(jsonb),
    api.product_set_capability(jsonb), api.product_remove_capability(jsonb), api.adoption_record(jsonb),
    api.adoption_report(jsonb) TO engagement_app;

-- For DBAs: products with their capabilities, and adoption per engagement, product and month with its scores.
CREATE OR REPLACE VIEW reporting.product_capabilities WITH (security_barrier) AS
SELECT p.id AS product_id, p.name AS product_name, p.archived_at, c.id AS capability_id, c.name AS capability_name,
       c.usage_target
FROM app.products p
LEFT JOIN app.capabilities c ON c.organisation_id = p.organisation_id AND c.product_id = p.id
WHERE p.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.product_capabilities TO engagement_reporting;

-- The scores are computed here rather than by app.adoption_month_json: functions called by a view run with the
-- DBA's rights, which reach no app table; the view's own reads run as its owner, filtered explicitly. The same
-- formula as above, so ReportingTests checks that the views and the API agree.
CREATE OR REPLACE VIEW reporting.adoption WITH (security_barrier) AS
SELECT m.engagement_id, e.code AS engagement_code, m.product_id, p.name AS product_name, m.period,
       m.licences_purchased, m.licences_active, u.utilisation AS licence_utilisation, c.coverage AS capability_coverage,
       (SELECT round(avg(x), 2) FROM unnest(ARRAY[u.utilisation, c.coverage]) x) AS adoption_score
FROM app.adoption_months m
JOIN app.engagements e ON e.organisation_id = m.organisation_id AND e.id = m.engagement_id
JOIN app.products p ON p.organisation_id = m.organisation_id AND p.id = m.product_id
CROSS JOIN LATERAL (
    SELECT CASE WHEN m.licences_purchased > 0
                THEN round(least(100, m.licences_active::numeric / m.licences_purchased * 100), 2) END AS utilisation) u
CROSS JOIN LATERAL (
    SELECT round(avg(least(100, coalesce(cu.usage_count, 0) / ca.usage_target * 100)), 2) AS coverage
    FROM app.capabilities ca
    LEFT JOIN app.capability_usage cu ON cu.organisation_id = ca.organisation_id AND cu.capability_id = ca.id
                                     AND cu.adoption_month_id = m.id
    WHERE ca.organisation_id = m.organisation_id AND ca.product_id = m.product_id) c
WHERE m.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.adoption TO engagement_reporting;

-- Per capability and month.
CREATE OR REPLACE VIEW reporting.capability_adoption WITH (security_barrier) AS
SELECT m.engagement_id, e.code AS engagement_code, m.product_id, ca.id AS capability_id, ca.name AS capability_name,
       m.period, coalesce(cu.usage_count, 0) AS usage_count, ca.usage_target,
       round(least(100, coalesce(cu.usage_count, 0) / ca.usage_target * 100), 2) AS score
FROM app.adoption_months m
JOIN app.engagements e ON e.organisation_id = m.organisation_id AND e.id = m.engagement_id
JOIN app.capabilities ca ON ca.organisation_id = m.organisation_id AND ca.product_id = m.product_id
LEFT JOIN app.capability_usage cu ON cu.organisation_id = m.organisation_id AND cu.adoption_month_id = m.id
                                 AND cu.capability_id = ca.id
WHERE m.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.capability_adoption TO engagement_reporting;
