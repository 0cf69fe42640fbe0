-- Engagement templates, engagements, their delivery parties, and the lifecycle with its history.

CREATE TABLE app.engagement_templates (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    service_id uuid NOT NULL,
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    -- [{name, unit, target, direction}] copied to engagements that use the template (tracking issue).
    default_kpis jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(default_kpis) = 'array'),
    checkin_cadence text NOT NULL DEFAULT 'monthly' CHECK (checkin_cadence IN ('monthly', 'quarterly')),
    archived_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT templates_service_fk FOREIGN KEY (organisation_id, service_id) REFERENCES app.services (organisation_id, id)
);
CREATE INDEX templates_by_name ON app.engagement_templates (organisation_id, name, id);
CREATE INDEX templates_by_created ON app.engagement_templates (organisation_id, created_at, id);
CREATE INDEX templates_by_service ON app.engagement_templates (organisation_id, service_id);

CREATE TABLE app.engagements (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    service_id uuid NOT NULL,
    customer_party_id uuid NOT NULL,
    template_id uuid,
    contract_id uuid,  -- its foreign key arrives with contracts
    code text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$'),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    start_date date,
    end_date date,
    owner_user_id uuid,
    status text NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'active', 'on_hold', 'completed', 'archived')),
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT engagements_dates CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date),
    CONSTRAINT engagements_service_fk FOREIGN KEY (organisation_id, service_id) REFERENCES app.services (organisation_id, id),
    CONSTRAINT engagements_customer_fk FOREIGN KEY (organisation_id, customer_party_id) REFERENCES app.parties (organisation_id, id),
    CONSTRAINT engagements_template_fk FOREIGN KEY (organisation_id, template_id) REFERENCES app.engagement_templates (organisation_id, id),
    CONSTRAINT engagements_owner_fk FOREIGN KEY (organisation_id, owner_user_id) REFERENCES app.users (organisation_id, id)
);
CREATE UNIQUE INDEX engagements_code_unique ON app.engagements (organisation_id, lower(code));
CREATE INDEX engagements_by_name ON app.engagements (organisation_id, name, id);
CREATE INDEX engagements_by_created ON app.engagements (organisation_id, created_at, id);
CREATE INDEX engagements_by_service ON app.engagements (organisation_id, service_id);
CREATE INDEX engagements_by_customer ON app.engagements (organisation_id, customer_party_id);
CREATE INDEX engagements_by_status ON app.engagements (organisation_id, status);

-- Who delivers an engagement: one or more parties with a role. The organisation's own party leads by default.
CREATE TABLE app.engagement_deliverers (
    organisation_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    party_id uuid NOT NULL,
    role text NOT NULL DEFAULT 'lead' CHECK (role IN ('lead', 'subcontractor', 'partner')),
    PRIMARY KEY (organisation_id, engagement_id, party_id),
    CONSTRAINT deliverers_engagement_fk FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES app.engagements (organisation_id, id) ON DELETE CASCADE,
    CONSTRAINT deliverers_party_fk FOREIGN KEY (organisation_id, party_id) REFERENCES app.parties (organisation_id, id)
);
CREATE INDEX deliverers_by_party ON app.engagement_deliverers (organisation_id, party_id);

-- The lifecycle: the legal moves, as data, so psql users obey exactly what the API obeys.
CREATE TABLE app.lifecycle_transitions (
    from_status text NOT NULL,
    to_status text NOT NULL,
    PRIMARY KEY (from_status, to_status)
);
INSERT INTO app.lifecycle_transitions VALUES
    ('draft', 'active'), ('active', 'on_hold'), ('on_hold', 'active'),
    ('active', 'completed'), ('on_hold', 'completed'), ('completed', 'archived');
GRANT SELECT ON app.lifecycle_transitions TO engagement_app;

-- Every status change, with who, when and why.
CREATE TABLE app.engagement_transitions (
    organisation_id uuid NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    engagement_id uuid NOT NULL,
    from_status text NOT NULL,
    to_status text NOT NULL,
    changed_by uuid,
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason text NOT NULL DEFAULT '',
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT transitions_engagement_fk FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES app.engagements (organisation_id, id) ON DELETE CASCADE
);
CREATE INDEX transitions_by_engagement ON app.engagement_transitions (organisation_id, engagement_id, changed_at);

-- Custom SQLSTATEs raised by the database. Class EV is invalid input, mapped to -32602 with the constraint
-- name naming the param: EV001 wrong party kind, EV004 new engagements start as drafts. Class ES is a state that
-- forbids the change, mapped to -32007: ES001 illegal lifecycle transition, ES002 activation without a template.
CREATE OR REPLACE FUNCTION app.check_engagement() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.status <> 'draft' THEN
        RAISE EXCEPTION 'a new engagement starts as a draft' USING ERRCODE = 'EV004', CONSTRAINT = 'engagements_initial_status';
    END IF;
    IF TG_OP = 'INSERT' OR NEW.customer_party_id IS DISTINCT FROM OLD.customer_party_id THEN
        PERFORM FROM app.parties
        WHERE organisation_id = NEW.organisation_id AND id = NEW.customer_party_id AND kind = 'customer';
        IF NOT FOUND THEN
            -- A missing party is left to the foreign key (same answer as another organisation's party).
            PERFORM FROM app.parties WHERE organisation_id = NEW.organisation_id AND id = NEW.customer_party_id;
            IF FOUND THEN
                RAISE EXCEPTION 'must be a customer party' USING ERRCODE = 'EV001', CONSTRAINT = 'engagements_customer_kind';
            END IF;
        END IF;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.status <> OLD.status THEN
        PERFORM FROM app.lifecycle_transitions WHERE from_status = OLD.status AND to_status = NEW.status;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'cannot go from % to %', OLD.status, NEW.status
                USING ERRCODE = 'ES001', CONSTRAINT = 'engagements_lifecycle';
        END IF;
        IF OLD.status = 'draft' AND NEW.status = 'active' AND NEW.template_id IS NULL THEN
            RAISE EXCEPTION 'an engagement needs a template before it can be activated'
                USING ERRCODE = 'ES002', CONSTRAINT = 'engagements_template_required';
        END IF;
        NEW.status_changed_at := now();
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION app.record_engagement_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- The organisation itself delivers unless told otherwise.
        INSERT INTO app.engagement_deliverers (organisation_id, engagement_id, party_id, role)
        SELECT NEW.organisation_id, NEW.id, p.id, 'lead' FROM app.parties p
        WHERE p.organisation_id = NEW.organisation_id AND p.kind = 'self';
    ELSIF NEW.status <> OLD.status THEN
        INSERT INTO app.engagement_transitions (organisation_id, engagement_id, from_status, to_status, changed_by, reason)
        VALUES (NEW.organisation_id, NEW.id, OLD.status, NEW.status,
                nullif(current_setting('app.user_id', true), '')::uuid,
                coalesce(current_setting('app.transition_reason', true), ''));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER engagements_check BEFORE INSERT OR UPDATE ON app.engagements
    FOR EACH ROW EXECUTE FUNCTION app.check_engagement();
CREATE TRIGGER engagements_touch BEFORE UPDATE ON app.engagements FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE TRIGGER engagements_record AFTER INSERT OR UPDATE ON app.engagements
    FOR EACH ROW EXECUTE FUNCTION app.record_engagement_changes();
CREATE TRIGGER engagements_audit AFTER INSERT OR UPDATE OR DELETE ON app.engagements
    FOR EACH ROW EXECUTE FUNCTION app.audit();
-- Audit rows of tables without an id of their own (deliverers) are filed under their engagement.
CREATE OR REPLACE FUNCTION app.audit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    row_image jsonb := to_jsonb(coalesce(NEW, OLD));
BEGIN
    INSERT INTO app.audit_log (organisation_id, user_id, method, entity, entity_id, action, before, after)
    VALUES (
        (row_image ->> 'organisation_id')::uuid,
        nullif(current_setting('app.user_id', true), '')::uuid,
        coalesce(nullif(current_setting('app.method', true), ''), 'sql'),
        TG_TABLE_NAME,
        coalesce(row_image ->> 'id', row_image ->> 'engagement_id')::uuid,
        lower(TG_OP),
        CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
        CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
    RETURN NULL;
END
$$;
CREATE TRIGGER deliverers_audit AFTER INSERT OR UPDATE OR DELETE ON app.engagement_deliverers
    FOR EACH ROW EXECUTE FUNCTION app.audit();
CREATE TRIGGER templates_touch BEFORE UPDATE ON app.engagement_templates FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE TRIGGER templates_audit AFTER INSERT OR UPDATE OR DELETE ON app.engagement_templates
    FOR EACH ROW EXECUTE FUNCTION app.audit();

-- Row-level security. Templates are written by managers; engagements and their deliverers by members.
ALTER TABLE app.engagement_templates ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.engagement_templates FORCE ROW LEVEL SECURITY;
ALTER TABLE app.engagements ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.engagements FORCE ROW LEVEL SECURITY;
ALTER TABLE app.engagement_deliverers ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.engagement_deliverers FORCE ROW LEVEL SECURITY;
ALTER TABLE app.engagement_transitions ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.engagement_transitions FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_read ON app.engagement_templates FOR SELECT
    USING (organisation_id = (SELECT app.current_organisation_id()));
CREATE POLICY manager_write ON app.engagement_templates FOR ALL
    USING (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager')))
    WITH CHECK (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('manager')));

CREATE POLICY tenant_read ON app.engagements FOR SELECT
    USING (organisation_id = (SELECT app.current_organisation_id()));
CREATE POLICY member_write ON app.engagements FOR ALL
    USING (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('member')))
    WITH CHECK (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('member')));

CREATE POLICY tenant_read ON app.engagement_deliverers FOR SELECT
    USING (organisation_id = (SELECT app.current_organisation_id()));
CREATE POLICY member_write ON app.engagement_deliverers FOR ALL
    USING (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('member')))
    WITH CHECK (organisation_id = (SELECT app.current_organisation_id()) AND (SELECT app.role_at_least('member')));

-- The history is written by the trigger only; tenants read it.
CREATE POLICY tenant_read ON app.engagement_transitions FOR SELECT
    USING (organisation_id = (SELECT app.current_organisation_id()));

GRANT SELECT, INSERT, DELETE ON app.engagement_templates TO engagement_app;
GRANT UPDATE (service_id, name, default_kpis, checkin_cadence, archived_at) ON app.engagement_templates TO engagement_app;
GRANT SELECT, INSERT, DELETE ON app.engagements TO engagement_app;
GRANT UPDATE (service_id, customer_party_id, template_id, code, name, start_date, end_date, owner_user_id, status)
    ON app.engagements TO engagement_app;
GRANT SELECT, INSERT, DELETE ON app.engagement_deliverers TO engagement_app;
GRANT UPDATE (role) ON app.engagement_deliverers TO engagement_app;
GRANT SELECT ON app.engagement_transitions TO engagement_app;

CREATE OR REPLACE FUNCTION app.template_json(t app.engagement_templates) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT jsonb_build_object(
        'id', t.id, 'service_id', t.service_id, 'name', t.name, 'default_kpis', t.default_kpis,
        'checkin_cadence', t.checkin_cadence, 'archived', t.archived_at IS NOT NULL, 'version', t.version,
        'created_at', t.created_at, 'updated_at', t.updated_at)
$$;

-- An engagement with the names a reader wants next to the ids, and its deliverers.
CREATE OR REPLACE FUNCTION app.engagement_json(e app.engagements) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT jsonb_build_object(
        'id', e.id, 'code', e.code, 'name', e.name, 'status', e.status, 'status_changed_at', e.status_changed_at,
        'service', (SELECT jsonb_build_object('id', s.id, 'code', s.code, 'name', s.name)
                    FROM app.services s WHERE s.organisation_id = e.organisation_id AND s.id = e.service_id),
        'customer', (SELECT jsonb_build_object('id', p.id, 'name', p.name)
                     FROM app.parties p WHERE p.organisation_id = e.organisation_id AND p.id = e.customer_party_id),
        'template_id', e.template_id, 'contract_id', e.contract_id,
        'start_date', e.start_date, 'end_date', e.end_date, 'owner_user_id', e.owner_user_id,
        'deliverers', coalesce((
            SELECT jsonb_agg(jsonb_build_object('party_id', d.party_id, 'name', p.name, 'role', d.role) ORDER BY d.role, p.name)
            FROM app.engagement_deliverers d
            JOIN app.parties p ON p.organisation_id = d.organisation_id AND p.id = d.party_id
            WHERE d.organisation_id = e.organisation_id AND d.engagement_id = e.id), '[]'::jsonb),
        'version', e.version, 'created_at', e.created_at, 'updated_at', e.updated_at)
$$;
GRANT EXECUTE ON FUNCTION app.template_json(app.engagement_templates), app.engagement_json(app.engagements)
    TO engagement_app;
