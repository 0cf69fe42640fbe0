-- Opportunities' rules, which psql writes obey exactly as the API's (tables: migration 0040_opportunities.sql):
-- * an opportunity starts in an open stage; a closed one (closed_won, closed_lost) changes no more;
-- * its customer is a customer party; what a renewal renews belongs to that customer, and so do its contracts;
-- * a *new* opportunity enters closed_won only with a contract or MOU linked, and keeps one (ES017
--   contract_required); a renewal needs none;
-- * only a closed_won opportunity gets an engagement (ES019 opportunity_not_won), at most one (the unique index
--   engagements_opportunity_unique), and a closed_won opportunity has one when the transaction commits (ES018
--   won_without_engagement, a deferred check: opportunity.win moves the stage and creates the engagement in one
--   transaction);
-- * every stage it enters is recorded (from, to, who, when, why).

-- New organisations get the usual pipeline.
CREATE OR REPLACE FUNCTION app.create_pipeline_stages() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO app.pipeline_stages (organisation_id, name, position, outcome)
    VALUES (NEW.id, 'qualifying', 1, 'open'), (NEW.id, 'prospecting', 2, 'open'), (NEW.id, 'partnering', 3, 'open'),
           (NEW.id, 'invoicing', 4, 'open'), (NEW.id, 'closed_won', 1000, 'won'), (NEW.id, 'closed_lost', 1001, 'lost');
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION app.create_pipeline_stages() FROM PUBLIC;
DROP TRIGGER IF EXISTS organisations_pipeline_stages ON app.organisations;
CREATE TRIGGER organisations_pipeline_stages AFTER INSERT ON app.organisations
    FOR EACH ROW EXECUTE FUNCTION app.create_pipeline_stages();

-- The closed stages stay what they are.
CREATE OR REPLACE FUNCTION app.check_pipeline_stage() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    -- (A deleted organisation takes its closed stages along.)
    IF (TG_OP = 'DELETE' AND OLD.outcome <> 'open' AND EXISTS (SELECT FROM app.organisations o WHERE o.id = OLD.organisation_id))
       OR (TG_OP = 'UPDATE' AND (OLD.outcome <> 'open' OR NEW.outcome <> 'open') AND NEW IS DISTINCT FROM OLD)
       OR (TG_OP = 'INSERT' AND NEW.outcome <> 'open' AND EXISTS (
               SELECT FROM app.pipeline_stages s WHERE s.organisation_id = NEW.organisation_id AND s.outcome = NEW.outcome)) THEN
        RAISE EXCEPTION 'closed_won and closed_lost are fixed stages' USING ERRCODE = 'EV001', CONSTRAINT = 'pipeline_stages_closed';
    END IF;
    RETURN coalesce(NEW, OLD);
END
$$;
DROP TRIGGER IF EXISTS pipeline_stages_check ON app.pipeline_stages;
CREATE TRIGGER pipeline_stages_check BEFORE INSERT OR UPDATE OR DELETE ON app.pipeline_stages
    FOR EACH ROW EXECUTE FUNCTION app.check_pipeline_stage();

CREATE OR REPLACE FUNCTION app.stage_outcome(p_organisation uuid, p_stage text) RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT outcome FROM app.pipeline_stages WHERE organisation_id = p_organisation AND name = p_stage
$$;

CREATE OR REPLACE FUNCTION app.check_opportunity() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    old_outcome text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        old_outcome := app.stage_outcome(OLD.organisation_id, OLD.stage);
        IF old_outcome <> 'open' AND (NEW.stage, NEW.customer_party_id, NEW.kind, NEW.renews_engagement_id, NEW.renews_contract_id,
                                      NEW.title, NEW.value, NEW.currency, NEW.expected_close_date, NEW.owner_user_id, NEW.lost_reason)
            IS DISTINCT FROM (OLD.stage, OLD.customer_party_id, OLD.kind, OLD.renews_engagement_id, OLD.renews_contract_id,
                              OLD.title, OLD.value, OLD.currency, OLD.expected_close_date, OLD.owner_user_id, OLD.lost_reason) THEN
            RAISE EXCEPTION 'the opportunity is closed (%)', OLD.stage USING ERRCODE = 'ES016', HINT = 'opportunity_closed';
        END IF;
    ELSIF app.stage_outcome(NEW.organisation_id, NEW.stage) <> 'open' THEN
        RAISE EXCEPTION 'an opportunity starts in an open stage' USING ERRCODE = 'EV001', CONSTRAINT = 'opportunities_stage_open';
    END IF;
    PERFORM FROM app.parties WHERE organisation_id = NEW.organisation_id AND id = NEW.customer_party_id AND kind <> 'customer';
    IF FOUND THEN
        RAISE EXCEPTION 'must be a customer party' USING ERRCODE = 'EV001', CONSTRAINT = 'opportunities_customer_kind';
    END IF;
    IF EXISTS (SELECT FROM app.engagements e WHERE e.organisation_id = NEW.organisation_id AND e.id = NEW.renews_engagement_id
                                               AND e.customer_party_id <> NEW.customer_party_id) THEN
        RAISE EXCEPTION 'the renewed engagement belongs to another customer'
            USING ERRCODE = 'EV005', CONSTRAINT = 'opportunities_renews_engagement_customer';
    END IF;
    IF EXISTS (SELECT FROM app.contracts c WHERE c.organisation_id = NEW.organisation_id AND c.id = NEW.renews_contract_id
                                             AND c.customer_party_id <> NEW.customer_party_id) THEN
        RAISE EXCEPTION 'the renewed contract belongs to another customer'
            USING ERRCODE = 'EV005', CONSTRAINT = 'opportunities_renews_contract_customer';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.customer_party_id <> OLD.customer_party_id AND EXISTS (
        SELECT FROM app.opportunity_contracts l WHERE l.organisation_id = NEW.organisation_id AND l.opportunity_id = NEW.id) THEN
        RAISE EXCEPTION 'the opportunity''s contracts belong to its current customer'
            USING ERRCODE = 'EV005', CONSTRAINT = 'opportunities_customer_links';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.stage <> OLD.stage THEN
        NEW.stage_changed_at := now();
        IF app.stage_outcome(NEW.organisation_id, NEW.stage) <> 'open' THEN
            NEW.closed_at := now();
        END IF;
        IF NEW.stage = 'closed_won' AND NEW.kind = 'new' AND NOT EXISTS (
            SELECT FROM app.opportunity_contracts l WHERE l.organisation_id = NEW.organisation_id AND l.opportunity_id = NEW.id) THEN
            RAISE EXCEPTION 'a new opportunity is won only with a contract or MOU linked'
                USING ERRCODE = 'ES017', HINT = 'contract_required';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS opportunities_check ON app.opportunities;
CREATE TRIGGER opportunities_check BEFORE INSERT OR UPDATE ON app.opportunities
    FOR EACH ROW EXECUTE FUNCTION app.check_opportunity();
DROP TRIGGER IF EXISTS opportunities_touch ON app.opportunities;
CREATE TRIGGER opportunities_touch BEFORE UPDATE ON app.opportunities FOR EACH ROW EXECUTE FUNCTION app.touch();
DROP TRIGGER IF EXISTS opportunities_audit ON app.opportunities;
CREATE TRIGGER opportunities_audit AFTER INSERT OR UPDATE OR DELETE ON app.opportunities FOR EACH ROW EXECUTE FUNCTION app.audit();

-- Definer: clients read the history but cannot write it.
CREATE OR REPLACE FUNCTION app.record_opportunity_stage() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.stage <> OLD.stage THEN
        INSERT INTO app.opportunity_stage_changes (organisation_id, opportunity_id, from_stage, to_stage, changed_by, reason)
        VALUES (NEW.organisation_id, NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.stage END, NEW.stage,
                nullif(current_setting('app.user_id', true), '')::uuid,
                coalesce(current_setting('app.stage_reason', true), ''));
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION app.record_opportunity_stage() FROM PUBLIC;
DROP TRIGGER IF EXISTS opportunities_stage_record ON app.opportunities;
CREATE TRIGGER opportunities_stage_record AFTER INSERT OR UPDATE OF stage ON app.opportunities
    FOR EACH ROW EXECUTE FUNCTION app.record_opportunity_stage();

-- A linked contract is the opportunity's customer's.
CREATE OR REPLACE FUNCTION app.check_opportunity_contract() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF EXISTS (SELECT FROM app.opportunities o JOIN app.contracts c ON c.organisation_id = o.organisation_id AND c.id = NEW.contract_id
               WHERE o.organisation_id = NEW.organisation_id AND o.id = NEW.opportunity_id AND c.customer_party_id <> o.customer_party_id) THEN
        RAISE EXCEPTION 'the contract belongs to another customer' USING ERRCODE = 'EV005', CONSTRAINT = 'opportunity_contracts_customer';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS opportunity_contracts_check ON app.opportunity_contracts;
CREATE TRIGGER opportunity_contracts_check BEFORE INSERT OR UPDATE ON app.opportunity_contracts
    FOR EACH ROW EXECUTE FUNCTION app.check_opportunity_contract();
DROP TRIGGER IF EXISTS opportunity_contracts_audit ON app.opportunity_contracts;
CREATE TRIGGER opportunity_contracts_audit AFTER INSERT OR UPDATE OR DELETE ON app.opportunity_contracts
    FOR EACH ROW EXECUTE FUNCTION app.audit('opportunity_id');

-- Only a won opportunity gets an engagement, of its customer. The opportunity is locked (KEY SHARE would let a
-- concurrent move through; a closed opportunity cannot move anyway, so SHARE is only held while it is checked).
CREATE OR REPLACE FUNCTION app.check_engagement_opportunity() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    won app.opportunities;
BEGIN
    IF NEW.opportunity_id IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT * INTO won FROM app.opportunities WHERE organisation_id = NEW.organisation_id AND id = NEW.opportunity_id FOR SHARE;
    IF FOUND AND won.stage <> 'closed_won' THEN
        RAISE EXCEPTION 'only a won opportunity gets an engagement' USING ERRCODE = 'ES019', HINT = 'opportunity_not_won';
    END IF;
    IF FOUND AND won.customer_party_id <> NEW.customer_party_id THEN
        RAISE EXCEPTION 'the opportunity belongs to another customer'
            USING ERRCODE = 'EV005', CONSTRAINT = 'engagements_opportunity_customer';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS engagements_opportunity_check ON app.engagements;
CREATE TRIGGER engagements_opportunity_check BEFORE INSERT OR UPDATE OF opportunity_id, customer_party_id ON app.engagements
    FOR EACH ROW EXECUTE FUNCTION app.check_engagement_opportunity();

-- At commit: a won opportunity (still there) has its engagement and, unless it is a renewal, a contract.
CREATE OR REPLACE FUNCTION app.check_won_opportunity() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    -- The opportunity concerned: an opportunity's new row; the row an engagement or a link had before.
    image jsonb := to_jsonb(CASE WHEN TG_TABLE_NAME = 'opportunities' THEN NEW ELSE OLD END);
    opportunity_id uuid := image ->> CASE WHEN TG_TABLE_NAME = 'opportunities' THEN 'id' ELSE 'opportunity_id' END;
    won app.opportunities;
BEGIN
    SELECT * INTO won FROM app.opportunities o
    WHERE o.organisation_id = (image ->> 'organisation_id')::uuid AND o.id = opportunity_id AND o.stage = 'closed_won';
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF NOT EXISTS (SELECT FROM app.engagements e WHERE e.organisation_id = won.organisation_id AND e.opportunity_id = won.id) THEN
        RAISE EXCEPTION 'a won opportunity keeps its engagement' USING ERRCODE = 'ES018', HINT = 'won_without_engagement';
    END IF;
    IF won.kind = 'new' AND NOT EXISTS (
        SELECT FROM app.opportunity_contracts l WHERE l.organisation_id = won.organisation_id AND l.opportunity_id = won.id) THEN
        RAISE EXCEPTION 'a won new opportunity keeps a contract or MOU' USING ERRCODE = 'ES017', HINT = 'contract_required';
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS opportunities_won_check ON app.opportunities;
CREATE CONSTRAINT TRIGGER opportunities_won_check AFTER INSERT OR UPDATE OF stage ON app.opportunities
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION app.check_won_opportunity();
DROP TRIGGER IF EXISTS opportunity_contracts_won_check ON app.opportunity_contracts;
CREATE CONSTRAINT TRIGGER opportunity_contracts_won_check AFTER DELETE OR UPDATE ON app.opportunity_contracts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION app.check_won_opportunity();
DROP TRIGGER IF EXISTS engagements_won_check ON app.engagements;
CREATE CONSTRAINT TRIGGER engagements_won_check AFTER DELETE OR UPDATE OF opportunity_id ON app.engagements
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION app.check_won_opportunity();

CREATE OR REPLACE FUNCTION app.opportunity_json(o app.opportunities) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN jsonb_build_object(
        'id', o.id, 'kind', o.kind,
        'customer', (SELECT jsonb_build_object('id', p.id, 'name', p.name) FROM app.parties p
                     WHERE p.organisation_id = o.organisation_id AND p.id = o.customer_party_id),
        'renews_engagement_id', o.renews_engagement_id, 'renews_contract_id', o.renews_contract_id,
        'title', o.title, 'value', o.value, 'currency', o.currency, 'expected_close_date', o.expected_close_date,
        'owner_user_id', o.owner_user_id, 'stage', o.stage, 'outcome', app.stage_outcome(o.organisation_id, o.stage),
        'stage_changed_at', o.stage_changed_at, 'closed_at', o.closed_at, 'lost_reason', o.lost_reason,
        'contract_ids', coalesce((SELECT jsonb_agg(l.contract_id ORDER BY l.linked_at, l.contract_id) FROM app.opportunity_contracts l
                                  WHERE l.organisation_id = o.organisation_id AND l.opportunity_id = o.id), '[]'::jsonb),
        'engagement_id', (SELECT e.id FROM app.engagements e WHERE e.organisation_id = o.organisation_id AND e.opportunity_id = o.id),
        'version', o.version, 'created_at', o.created_at, 'updated_at', o.updated_at);
END
$$;
REVOKE ALL ON FUNCTION app.opportunity_json(app.opportunities), app.stage_outcome(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.opportunity_json(app.opportunities), app.stage_outcome(uuid, text) TO engagement_app;
