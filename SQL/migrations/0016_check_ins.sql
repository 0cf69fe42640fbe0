-- Tracking: engagement KPIs, monthly check-ins (finance lines, KPI values, capacity entries), attribution of
-- every item to a delivery party, and the revision history of each check-in.
--
-- SQLSTATEs added here:
--   EV007  a check-in item the database refuses; the error's COLUMN field carries the item's path relative to
--          the params (e.g. `finance[2].currency`), which the server turns into `params.finance[2].currency`.
--   ES005  check-ins are accepted only while the engagement is active (and its final one after completion).
--   ES006  the final check-in of a completed engagement was already written.
--   ES007  check-in items change only together with their check-in (an amendment, which keeps history).

-- Overlapping attribution periods are excluded by a GiST constraint on (tenant, engagement, month range).
CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA app;

-- KPIs of an engagement: copied from its template's default_kpis, or added. Names are unique per engagement.
CREATE TABLE app.engagement_kpis (
    organisation_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    unit text NOT NULL DEFAULT '' CHECK (length(unit) <= 40),
    target numeric NOT NULL,
    direction text NOT NULL CHECK (direction IN ('higher_is_better', 'lower_is_better')),
    -- The party that owns the KPI; NULL: the engagement's attribution for the month.
    deliverer_party_id uuid,
    source text NOT NULL DEFAULT 'added' CHECK (source IN ('template', 'added')),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT kpis_engagement_fk FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES app.engagements (organisation_id, id) ON DELETE CASCADE,
    -- Only a delivery party of this engagement can own its KPI (NULL: not checked, attribution decides).
    CONSTRAINT kpis_deliverer_fk FOREIGN KEY (organisation_id, engagement_id, deliverer_party_id)
        REFERENCES app.engagement_deliverers (organisation_id, engagement_id, party_id)
);
CREATE UNIQUE INDEX kpis_name_unique ON app.engagement_kpis (organisation_id, engagement_id, lower(name));
-- Target of the KPI-value foreign key: a value's KPI belongs to the value's engagement.
CREATE UNIQUE INDEX kpis_engagement_id_unique ON app.engagement_kpis (organisation_id, engagement_id, id);

-- One engagement's data for one calendar month. `version` is the revision number: every write bumps it.
CREATE TABLE app.check_ins (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    engagement_id uuid NOT NULL,
    period date NOT NULL CHECK (extract(day FROM period) = 1),
    is_final boolean NOT NULL DEFAULT false,
    notes text NOT NULL DEFAULT '' CHECK (length(notes) <= 10000),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT check_ins_engagement_fk FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES app.engagements (organisation_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX check_ins_month_unique ON app.check_ins (organisation_id, engagement_id, period);
CREATE UNIQUE INDEX check_ins_engagement_id_unique ON app.check_ins (organisation_id, id, engagement_id);
CREATE INDEX check_ins_by_period ON app.check_ins (organisation_id, period);

-- Items carry their check-in's engagement (enforced by the composite key to the check-in), so the deliverer
-- foreign key can require a delivery party of that engagement.
CREATE TABLE app.finance_lines (
    organisation_id uuid NOT NULL,
    check_in_id uuid NOT NULL,
    line_no integer NOT NULL,
    engagement_id uuid NOT NULL,
    category text NOT NULL
        CHECK (category IN ('revenue', 'labour_cost', 'licences', 'third_party_cost', 'expenses', 'other_cost')),
    label text NOT NULL DEFAULT '' CHECK (length(label) <= 200),
    plan numeric(18, 2),
    actual numeric(18, 2),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    deliverer_party_id uuid,
    PRIMARY KEY (organisation_id, check_in_id, line_no),
    CONSTRAINT finance_lines_amounts CHECK (plan IS NOT NULL OR actual IS NOT NULL),
    CONSTRAINT finance_lines_check_in_fk FOREIGN KEY (organisation_id, check_in_id, engagement_id)
        REFERENCES app.check_ins (organisation_id, id, engagement_id) ON DELETE CASCADE,
    CONSTRAINT finance_lines_deliverer_fk FOREIGN KEY (organisation_id, engagement_id, deliverer_party_id)
        REFERENCES app.engagement_deliverers (organisation_id, engagement_id, party_id)
);

CREATE TABLE app.kpi_values (
    organisation_id uuid NOT NULL,
    check_in_id uuid NOT NULL,
    kpi_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    actual numeric NOT NULL,
    deliverer_party_id uuid,
    PRIMARY KEY (organisation_id, check_in_id, kpi_id),
    CONSTRAINT kpi_values_check_in_fk FOREIGN KEY (organisation_id, check_in_id, engagement_id)
        REFERENCES app.check_ins (organisation_id, id, engagement_id) ON DELETE CASCADE,
    -- A KPI with recorded values cannot be removed (the history would lose its meaning).
    CONSTRAINT kpi_values_kpi_fk FOREIGN KEY (organisation_id, engagement_id, kpi_id)
        REFERENCES app.engagement_kpis (organisation_id, engagement_id, id),
    CONSTRAINT kpi_values_deliverer_fk FOREIGN KEY (organisation_id, engagement_id, deliverer_party_id)
        REFERENCES app.engagement_deliverers (organisation_id, engagement_id, party_id)
);
CREATE INDEX kpi_values_by_kpi ON app.kpi_values (organisation_id, engagement_id, kpi_id);

CREATE TABLE app.capacity_entries (
    organisation_id uuid NOT NULL,
    check_in_id uuid NOT NULL,
    line_no integer NOT NULL,
    engagement_id uuid NOT NULL,
    role text NOT NULL CHECK (length(btrim(role)) BETWEEN 1 AND 100),
    person text CHECK (length(btrim(person)) BETWEEN 1 AND 200),
    planned_hours numeric(10, 2) CHECK (planned_hours >= 0),
    actual_hours numeric(10, 2) CHECK (actual_hours >= 0),
    deliverer_party_id uuid,
    PRIMARY KEY (organisation_id, check_in_id, line_no),
    CONSTRAINT capacity_hours CHECK (planned_hours IS NOT NULL OR actual_hours IS NOT NULL),
    CONSTRAINT capacity_check_in_fk FOREIGN KEY (organisation_id, check_in_id, engagement_id)
        REFERENCES app.check_ins (organisation_id, id, engagement_id) ON DELETE CASCADE,
    CONSTRAINT capacity_deliverer_fk FOREIGN KEY (organisation_id, engagement_id, deliverer_party_id)
        REFERENCES app.engagement_deliverers (organisation_id, engagement_id, party_id)
);
CREATE UNIQUE INDEX capacity_role_person_unique
    ON app.capacity_entries (organisation_id, check_in_id, lower(role), lower(coalesce(person, '')));

-- A delivery party credited with everything of an engagement in a range of months (to_period NULL: open),
-- unless an item names its own party. Ranges of one engagement never overlap.
CREATE TABLE app.attribution_periods (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    engagement_id uuid NOT NULL,
    party_id uuid NOT NULL,
    from_period date NOT NULL CHECK (extract(day FROM from_period) = 1),
    to_period date CHECK (extract(day FROM to_period) = 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT attribution_order CHECK (to_period IS NULL OR to_period >= from_period),
    CONSTRAINT attribution_deliverer_fk FOREIGN KEY (organisation_id, engagement_id, party_id)
        REFERENCES app.engagement_deliverers (organisation_id, engagement_id, party_id) ON DELETE CASCADE,
    CONSTRAINT attribution_overlap EXCLUDE USING gist (
        organisation_id WITH =, engagement_id WITH =, daterange(from_period, to_period, '[]') WITH &&)
);

-- Every write of a check-in, with who, when, why, the whole content after it, and per section what changed.
-- Written only by the trigger below; tenants read it.
CREATE TABLE app.check_in_revisions (
    organisation_id uuid NOT NULL,
    check_in_id uuid NOT NULL,
    revision integer NOT NULL,
    written_by uuid,
    written_at timestamptz NOT NULL DEFAULT now(),
    method text NOT NULL,
    reason text NOT NULL DEFAULT '',
    content jsonb NOT NULL,
    -- {"finance": {"before": [...], "after": [...]}, ...} for the sections that differ from the previous revision.
    changes jsonb NOT NULL,
    PRIMARY KEY (organisation_id, check_in_id, revision),
    CONSTRAINT revisions_check_in_fk FOREIGN KEY (organisation_id, check_in_id)
        REFERENCES app.check_ins (organisation_id, id) ON DELETE CASCADE
);

-- The party an item is attributed to: the item's own, else the period's, else the engagement's default
-- deliverer (a lead; the organisation itself before a partner; then by name). These rules are views so that
-- reporting views can join them (functions in a view run with the DBA's privileges, tables with the owner's).
-- They run as their owner, so like the reporting views they filter by the caller's tenant themselves.
CREATE VIEW app.engagement_default_deliverer WITH (security_barrier) AS
SELECT DISTINCT ON (d.organisation_id, d.engagement_id) d.organisation_id, d.engagement_id, d.party_id
FROM app.engagement_deliverers d
JOIN app.parties p ON p.organisation_id = d.organisation_id AND p.id = d.party_id
WHERE d.organisation_id = (SELECT app.current_organisation_id())
ORDER BY d.organisation_id, d.engagement_id, d.role = 'lead' DESC, p.kind = 'self' DESC, p.name, p.id;
GRANT SELECT ON app.engagement_default_deliverer TO engagement_app;

-- The party a check-in's items are credited to when they name none of their own: the attribution period
-- covering its month, else the engagement's default deliverer. The one statement of that rule, joined by the
-- reporting views and read by app.attributed_party; filtered by tenant like the view above.
CREATE VIEW app.check_in_attribution WITH (security_barrier) AS
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
                USING ERRCODE = 'ES006', CONSTRAINT = 'check_ins_final';
        END IF;
        NEW.is_final := true;
    ELSE
        RAISE EXCEPTION 'check-ins are accepted only while the engagement is active (it is %)',
            replace(engagement.status, '_', ' ') USING ERRCODE = 'ES005', CONSTRAINT = 'check_ins_status';
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
            USING ERRCODE = 'ES007', CONSTRAINT = 'check_in_items_amend';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;

-- Records a revision once the transaction's writes are complete (deferred to commit, so the items written after
-- the check-in row are included). Scores and rule evaluation have their own deferred trigger (0018, 0020).
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

CREATE TRIGGER check_ins_check BEFORE INSERT OR UPDATE ON app.check_ins
    FOR EACH ROW EXECUTE FUNCTION app.check_check_in();
CREATE TRIGGER check_ins_touch BEFORE UPDATE ON app.check_ins FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE CONSTRAINT TRIGGER check_ins_after_write AFTER INSERT OR UPDATE ON app.check_ins
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION app.after_check_in_write();
CREATE TRIGGER check_ins_audit AFTER INSERT OR UPDATE OR DELETE ON app.check_ins
    FOR EACH ROW EXECUTE FUNCTION app.audit();
CREATE TRIGGER finance_lines_guard BEFORE INSERT OR UPDATE OR DELETE ON app.finance_lines
    FOR EACH ROW EXECUTE FUNCTION app.check_check_in_item();
CREATE TRIGGER kpi_values_guard BEFORE INSERT OR UPDATE OR DELETE ON app.kpi_values
    FOR EACH ROW EXECUTE FUNCTION app.check_check_in_item();
CREATE TRIGGER capacity_entries_guard BEFORE INSERT OR UPDATE OR DELETE ON app.capacity_entries
    FOR EACH ROW EXECUTE FUNCTION app.check_check_in_item();
CREATE TRIGGER kpis_touch BEFORE UPDATE ON app.engagement_kpis FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE TRIGGER kpis_audit AFTER INSERT OR UPDATE OR DELETE ON app.engagement_kpis
    FOR EACH ROW EXECUTE FUNCTION app.audit();
CREATE TRIGGER attribution_audit AFTER INSERT OR UPDATE OR DELETE ON app.attribution_periods
    FOR EACH ROW EXECUTE FUNCTION app.audit();

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
CREATE TRIGGER engagements_template_kpis AFTER INSERT OR UPDATE OF template_id ON app.engagements
    FOR EACH ROW EXECUTE FUNCTION app.copy_template_kpis();
-- Engagements that already have a template get its KPIs now.
INSERT INTO app.engagement_kpis (organisation_id, engagement_id, name, unit, target, direction, source)
SELECT e.organisation_id, e.id, btrim(k ->> 'name'), coalesce(k ->> 'unit', ''), (k ->> 'target')::numeric,
       coalesce(k ->> 'direction', 'higher_is_better'), 'template'
FROM app.engagements e
JOIN app.engagement_templates t ON t.organisation_id = e.organisation_id AND t.id = e.template_id,
     jsonb_array_elements(t.default_kpis) k
WHERE k ->> 'name' IS NOT NULL AND k ->> 'target' IS NOT NULL
ON CONFLICT (organisation_id, engagement_id, lower(name)) DO NOTHING;

CALL app.apply_tenant_policies('app.engagement_kpis', 'member');
CALL app.apply_tenant_policies('app.check_ins', 'member');
CALL app.apply_tenant_policies('app.finance_lines', 'member');
CALL app.apply_tenant_policies('app.kpi_values', 'member');
CALL app.apply_tenant_policies('app.capacity_entries', 'member');
CALL app.apply_tenant_policies('app.attribution_periods', 'member');
ALTER TABLE app.check_in_revisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.check_in_revisions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON app.check_in_revisions FOR SELECT
    USING (organisation_id = (SELECT app.current_organisation_id()));

GRANT SELECT, INSERT, DELETE ON app.engagement_kpis, app.check_ins, app.finance_lines, app.kpi_values,
    app.capacity_entries, app.attribution_periods TO engagement_app;
GRANT UPDATE (name, unit, target, direction, deliverer_party_id) ON app.engagement_kpis TO engagement_app;
GRANT UPDATE (notes, is_final) ON app.check_ins TO engagement_app;
GRANT SELECT ON app.check_in_revisions TO engagement_app;
