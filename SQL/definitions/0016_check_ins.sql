-- Current definitions (first made by migration 0016_check_ins). Edit them here, never in a migration: every
-- definitions file is re-applied whenever one of them changes or a migration runs (SQL/README.md).

-- The party an item is attributed to: the item's own, else the period's, else the engagement's default
-- deliverer (a lead; the organisation itself before a partner; then by name). These rules are views so that
-- reporting views can join them (functions in a view run with the DBA's privileges, tables with the owner's).
-- They run as their owner, so like the reporting views they filter by the caller's tenant themselves.
CREATE OR REPLACE VIEW app.engagement_default_deliverer WITH (security_barrier) AS
SELECT DISTINCT ON (d.organisation_id, d.engagement_id) d.organisation_id, d.engagement_id, d.party_id
FROM app.engagement_deliverers d
JOIN app.parties p ON p.organisation_id = d.organisation_id AND p.id = d.party_id
WHERE d.organisation_id = (SELECT app.current_organisation_id())
ORDER BY d.organisation_id, d.engagement_id, d.role = 'lead' DESC, p.kind = 'self' DESC, p.name, p.id;
GRANT SELECT ON app.engagement_default_deliverer TO engagement_app;

-- The party a check-in's items are credited to when they name none of their own: the attribution period
-- covering its month, else the engagement's default deliverer. The one statement of that rule, joined by the
-- reporting views and read by app.attributed_party; filtered by tenant like the view above.
CREATE OR REPLACE VIEW app.check_in_attribution WITH (security_barrier) AS
SELECT c.organisation_id, c.id AS check_in_id, c.engagement_id, c.period, coalesce(a.party_id, d.party_id) AS party_id
FROM app.check_ins c
LEFT JOIN app.attribution_periods a ON a.organisation_id = c.organisation_id AND a.engagement_id = c.engagement_id
     AND c.period >= a.from_period AND (a.to_period IS NULL OR c.period <= a.to_period)
LEFT JOIN app.engagement_default_deliverer d ON d.organisation_id = c.organisation_id AND d.engagement_id = c.engagement_id
WHERE c.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON app.check_in_attribution TO engagement_app;

-- An item's party: its own, else its check-in's (above).
CREATE OR REPLACE FUNCTION app.attributed_party(
    p_organisation_id uuid, p_engagement_id uuid, p_period date, p_item_party uuid) RETURNS uuid
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(p_item_party, (
        SELECT a.party_id FROM app.check_in_attribution a
        WHERE a.organisation_id = p_organisation_id AND a.engagement_id = p_engagement_id AND a.period = p_period))
$$;

-- The content of a check-in as JSON (also what a revision keeps).
CREATE OR REPLACE FUNCTION app.check_in_content(p_organisation_id uuid, p_check_in_id uuid) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object(
        'notes', c.notes,
        'finance', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'category', f.category, 'label', f.label, 'plan', f.plan, 'actual', f.actual, 'currency', f.currency,
                'deliverer_party_id', f.deliverer_party_id) ORDER BY f.line_no)
            FROM app.finance_lines f WHERE f.organisation_id = c.organisation_id AND f.check_in_id = c.id), '[]'),
        'kpis', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'kpi', k.name, 'kpi_id', k.id, 'actual', v.actual, 'deliverer_party_id', v.deliverer_party_id)
                ORDER BY lower(k.name))
            FROM app.kpi_values v
            JOIN app.engagement_kpis k ON k.organisation_id = v.organisation_id AND k.id = v.kpi_id
            WHERE v.organisation_id = c.organisation_id AND v.check_in_id = c.id), '[]'),
        'capacity', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'role', e.role, 'person', e.person, 'planned_hours', e.planned_hours, 'actual_hours', e.actual_hours,
                'deliverer_party_id', e.deliverer_party_id) ORDER BY e.line_no)
            FROM app.capacity_entries e WHERE e.organisation_id = c.organisation_id AND e.check_in_id = c.id), '[]'))
    FROM app.check_ins c
    WHERE c.organisation_id = p_organisation_id AND c.id = p_check_in_id
$$;

-- Lifecycle rules of check-ins, for API and psql writes alike.
CREATE OR REPLACE FUNCTION app.check_check_in() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    engagement record;
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.engagement_id <> OLD.engagement_id OR NEW.period <> OLD.period) THEN
        RAISE EXCEPTION 'a check-in keeps its engagement and month' USING ERRCODE = 'EV007', COLUMN = 'period';
    END IF;
    SELECT status, start_date, end_date INTO engagement FROM app.engagements
    WHERE organisation_id = NEW.organisation_id AND id = NEW.engagement_id;
    IF NOT FOUND THEN
        RETURN NEW;  -- the foreign key answers (the same for another organisation's engagement)
    END IF;
    IF (engagement.start_date IS NOT NULL AND NEW.period < date_trunc('month', engagement.start_date)::date)
       OR (engagement.end_date IS NOT NULL AND NEW.period > engagement.end_date) THEN
        RAISE EXCEPTION 'is outside the engagement''s dates (% to %)',
            coalesce(engagement.start_date::text, 'open'), coalesce(engagement.end_date::text, 'open')
            USING ERRCODE = 'EV007', COLUMN = 'period';
    END IF;
    IF engagement.status = 'active' THEN
        IF TG_OP = 'UPDATE' AND OLD.is_final THEN
            NEW.is_final := true;  -- a reactivated engagement cannot happen (completed is final); kept for psql
        END IF;
    ELSIF engagement.status = 'completed' THEN
        -- After completion exactly one write is accepted, and it makes its check-in the final one.
        IF (TG_OP = 'UPDATE' AND OLD.is_final) OR EXISTS (
            SELECT FROM app.check_ins WHERE organisation_id = NEW.organisation_id
              AND engagement_id = NEW.engagement_id AND is_final AND id <> NEW.id) THEN
            RAISE EXCEPTION 'the final check-in of this completed engagement was already submitted'
                USING ERRCODE = 'ES006', HINT = 'final_check_in_submitted', CONSTRAINT = 'check_ins_final';
        END IF;
        NEW.is_final := true;
    ELSE
        RAISE EXCEPTION 'check-ins are accepted only while the engagement is active (it is %)',
            replace(engagement.status, '_', ' ') USING ERRCODE = 'ES005', HINT = 'check_in_not_accepted', CONSTRAINT = 'check_ins_status';
    END IF;
    RETURN NEW;
END
$$;

-- Items change only in a transaction that also wrote their check-in (whose trigger applied the rules above and
-- whose revision records the change): the check-in's updated_at is then this transaction's now().
CREATE OR REPLACE FUNCTION app.check_check_in_item() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    item_organisation uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.organisation_id ELSE NEW.organisation_id END;
    item_check_in uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.check_in_id ELSE NEW.check_in_id END;
    written_at timestamptz;
BEGIN
    SELECT updated_at INTO written_at FROM app.check_ins WHERE organisation_id = item_organisation AND id = item_check_in;
    IF FOUND AND written_at <> now() THEN
        RAISE EXCEPTION 'check-in items change only by amending their check-in'
            USING ERRCODE = 'ES007', HINT = 'amend_check_in', CONSTRAINT = 'check_in_items_amend';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

-- Records a revision once the transaction's writes are complete (deferred to commit, so the items written after
-- the check-in row are included). Scores and rule evaluation have their own deferred trigger (0018_health.sql, 0020_risk.sql).
CREATE OR REPLACE FUNCTION app.after_check_in_write() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    current app.check_ins;
    content jsonb;
    previous jsonb;
    section text;
    changes jsonb := '{}';
BEGIN
    SELECT * INTO current FROM app.check_ins WHERE organisation_id = NEW.organisation_id AND id = NEW.id;
    IF NOT FOUND OR EXISTS (SELECT FROM app.check_in_revisions WHERE organisation_id = current.organisation_id
                            AND check_in_id = current.id AND revision = current.version) THEN
        RETURN NULL;  -- deleted meanwhile, or recorded by an earlier event of the same transaction
    END IF;
    content := app.check_in_content(current.organisation_id, current.id);
    SELECT r.content INTO previous FROM app.check_in_revisions r
    WHERE r.organisation_id = current.organisation_id AND r.check_in_id = current.id
    ORDER BY r.revision DESC LIMIT 1;
    FOREACH section IN ARRAY ARRAY['notes', 'finance', 'kpis', 'capacity'] LOOP
        IF previous IS NULL OR previous -> section IS DISTINCT FROM content -> section THEN
            changes := changes || jsonb_build_object(section,
                jsonb_build_object('before', previous -> section, 'after', content -> section));
        END IF;
    END LOOP;
    INSERT INTO app.check_in_revisions (organisation_id, check_in_id, revision, written_by, method, reason, content, changes)
    VALUES (current.organisation_id, current.id, current.version, current.updated_by,
            coalesce(nullif(current_setting('app.method', true), ''), 'sql'),
            coalesce(current_setting('app.change_reason', true), ''), content, changes);
    RETURN NULL;
END
$$;

-- An engagement that gets a template receives the template's KPIs it does not have yet (by name).
CREATE OR REPLACE FUNCTION app.copy_template_kpis() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.template_id IS NULL OR (TG_OP = 'UPDATE' AND NEW.template_id IS NOT DISTINCT FROM OLD.template_id) THEN
        RETURN NULL;
    END IF;
    INSERT INTO app.engagement_kpis
        (organisation_id, engagement_id, name, unit, target, direction, source, created_by, updated_by)
    SELECT NEW.organisation_id, NEW.id, btrim(k ->> 'name'), coalesce(k ->> 'unit', ''), (k ->> 'target')::numeric,
           coalesce(k ->> 'direction', 'higher_is_better'), 'template', NEW.updated_by, NEW.updated_by
    FROM app.engagement_templates t, jsonb_array_elements(t.default_kpis) k
    WHERE t.organisation_id = NEW.organisation_id AND t.id = NEW.template_id
      AND k ->> 'name' IS NOT NULL AND k ->> 'target' IS NOT NULL
    ON CONFLICT (organisation_id, engagement_id, lower(name)) DO NOTHING;
    RETURN NULL;
END
$$;
