-- What an SLA term's penalty may say, checked when it is written (API and psql alike), and the exclusion
-- windows' methods. The penalty (a term's jsonb, 0011_contracts.sql):
--   {"tiers": [{"threshold": n, "credit_percent": n} | {"threshold": n, "credit_amount": n}, ...],
--    "cap_percent": n, "cap_amount": n, "minimum_amount": n, "fee_basis": "contract" | "finance_plan",
--    "period_fee": n}
-- * tiers run from the mildest breach to the worst: for a ">=" term (availability) each threshold is strictly
--   lower than the one before and not above the target, for a "<=" term (response time) strictly higher and not
--   below it; credits never fall from one tier to the next; all tiers give percentages or all give amounts;
-- * percentages are 0–100, amounts ≥ 0.
-- Errors name the place: params.penalty.tiers[2].threshold (SQLSTATE EV400, COLUMN = the path).

CREATE OR REPLACE FUNCTION app.check_sla_penalty() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    penalty jsonb := NEW.penalty;
    tier jsonb;
    i integer := 0;
    previous jsonb;
    kind text;
    key text;
BEGIN
    FOR key IN SELECT k FROM jsonb_object_keys(penalty) k LOOP
        IF key NOT IN ('tiers', 'cap_percent', 'cap_amount', 'minimum_amount', 'fee_basis', 'period_fee') THEN
            RAISE EXCEPTION 'is not a penalty field' USING ERRCODE = 'EV400', COLUMN = 'penalty.' || key;
        END IF;
        IF key IN ('cap_percent', 'cap_amount', 'minimum_amount', 'period_fee')
           AND (jsonb_typeof(penalty -> key) <> 'number' OR (penalty ->> key)::numeric < 0
                OR (key = 'cap_percent' AND (penalty ->> key)::numeric > 100)) THEN
            RAISE EXCEPTION 'must be a number %', CASE WHEN key = 'cap_percent' THEN 'from 0 to 100' ELSE '≥ 0' END
                USING ERRCODE = 'EV400', COLUMN = 'penalty.' || key;
        END IF;
    END LOOP;
    IF penalty ? 'fee_basis' AND penalty ->> 'fee_basis' NOT IN ('contract', 'finance_plan') THEN
        RAISE EXCEPTION 'must be contract or finance_plan' USING ERRCODE = 'EV400', COLUMN = 'penalty.fee_basis';
    END IF;
    FOR tier IN SELECT t FROM jsonb_array_elements(penalty -> 'tiers') t LOOP
        IF jsonb_typeof(tier) <> 'object' OR jsonb_typeof(tier -> 'threshold') IS DISTINCT FROM 'number' THEN
            RAISE EXCEPTION 'needs a numeric threshold' USING ERRCODE = 'EV400', COLUMN = format('penalty.tiers[%s].threshold', i);
        END IF;
        IF (tier ? 'credit_percent') = (tier ? 'credit_amount') THEN
            RAISE EXCEPTION 'gives either credit_percent or credit_amount' USING ERRCODE = 'EV400', COLUMN = format('penalty.tiers[%s]', i);
        END IF;
        key := CASE WHEN tier ? 'credit_percent' THEN 'credit_percent' ELSE 'credit_amount' END;
        IF jsonb_typeof(tier -> key) <> 'number' OR (tier ->> key)::numeric < 0
           OR (key = 'credit_percent' AND (tier ->> key)::numeric > 100) THEN
            RAISE EXCEPTION 'must be a number %', CASE WHEN key = 'credit_percent' THEN 'from 0 to 100' ELSE '≥ 0' END
                USING ERRCODE = 'EV400', COLUMN = format('penalty.tiers[%s].%s', i, key);
        END IF;
        IF kind IS NOT NULL AND kind <> key THEN
            RAISE EXCEPTION 'all tiers give percentages or all give amounts' USING ERRCODE = 'EV400', COLUMN = format('penalty.tiers[%s]', i);
        END IF;
        kind := key;
        IF (NEW.comparison = '>=' AND (tier ->> 'threshold')::numeric > NEW.target)
           OR (NEW.comparison = '<=' AND (tier ->> 'threshold')::numeric < NEW.target) THEN
            RAISE EXCEPTION 'a tier is a breach of the target %: its threshold is % it', NEW.target,
                CASE NEW.comparison WHEN '>=' THEN 'not above' ELSE 'not below' END
                USING ERRCODE = 'EV400', COLUMN = format('penalty.tiers[%s].threshold', i);
        END IF;
        IF previous IS NOT NULL THEN
            IF (NEW.comparison = '>=' AND (tier ->> 'threshold')::numeric >= (previous ->> 'threshold')::numeric)
               OR (NEW.comparison = '<=' AND (tier ->> 'threshold')::numeric <= (previous ->> 'threshold')::numeric) THEN
                RAISE EXCEPTION 'tiers run from the mildest breach to the worst: this threshold must be % than the one before',
                    CASE NEW.comparison WHEN '>=' THEN 'lower' ELSE 'higher' END
                    USING ERRCODE = 'EV400', COLUMN = format('penalty.tiers[%s].threshold', i);
            END IF;
            IF (tier ->> key)::numeric < (previous ->> key)::numeric THEN
                RAISE EXCEPTION 'a worse breach never earns a smaller credit' USING ERRCODE = 'EV400', COLUMN = format('penalty.tiers[%s].%s', i, key);
            END IF;
        END IF;
        previous := tier;
        i := i + 1;
    END LOOP;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS sla_terms_penalty_check ON app.contract_sla_terms;
CREATE TRIGGER sla_terms_penalty_check BEFORE INSERT OR UPDATE ON app.contract_sla_terms
    FOR EACH ROW EXECUTE FUNCTION app.check_sla_penalty();

CREATE OR REPLACE FUNCTION app.sla_exclusion_json(x app.sla_exclusions) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('id', x.id, 'term_id', x.term_id, 'engagement_id', x.engagement_id, 'starts_at', x.starts_at,
                              'ends_at', x.ends_at, 'minutes', round(extract(epoch FROM x.ends_at - x.starts_at) / 60, 2),
                              'reason', x.reason, 'created_at', x.created_at)
$$;

CREATE OR REPLACE FUNCTION api.sla_paths() RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT '{"sla_exclusions_window": "ends_at", "sla_exclusions_term_fk": "term_id", "sla_exclusions_engagement_fk": "engagement_id",
             "sla_exclusions_overlap": "starts_at", "sla_exclusions_contract": "engagement_id"}'::jsonb
$$;

-- The engagement must be one of the term's contract's.
CREATE OR REPLACE FUNCTION app.check_sla_exclusion() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM app.contract_sla_terms t
                   JOIN app.engagements e ON e.organisation_id = t.organisation_id AND e.id = NEW.engagement_id AND e.contract_id = t.contract_id
                   WHERE t.organisation_id = NEW.organisation_id AND t.id = NEW.term_id)
       AND EXISTS (SELECT FROM app.contract_sla_terms t WHERE t.organisation_id = NEW.organisation_id AND t.id = NEW.term_id) THEN
        RAISE EXCEPTION 'must be an engagement of the term''s contract' USING ERRCODE = 'EV005', CONSTRAINT = 'sla_exclusions_contract';
    END IF;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS sla_exclusions_check ON app.sla_exclusions;
CREATE TRIGGER sla_exclusions_check BEFORE INSERT ON app.sla_exclusions FOR EACH ROW EXECUTE FUNCTION app.check_sla_exclusion();
DROP TRIGGER IF EXISTS sla_exclusions_audit ON app.sla_exclusions;
CREATE TRIGGER sla_exclusions_audit AFTER INSERT OR DELETE ON app.sla_exclusions FOR EACH ROW EXECUTE FUNCTION app.audit();

CREATE OR REPLACE FUNCTION api.sla_add_exclusion(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('sla.add_exclusion', p);
    created app.sla_exclusions;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.sla_exclusions (organisation_id, term_id, engagement_id, starts_at, ends_at, reason, created_by)
    VALUES (app.current_organisation_id(), (p ->> 'term_id')::uuid, (p ->> 'engagement_id')::uuid, (p ->> 'starts_at')::timestamptz,
            (p ->> 'ends_at')::timestamptz, btrim(p ->> 'reason'), app.current_user_id())
    RETURNING * INTO created;
    RETURN api.remember('sla.add_exclusion', p, app.sla_exclusion_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.sla_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.sla_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.sla_remove_exclusion(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM app.sla_exclusions WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN jsonb_build_object('id', (p ->> 'id')::uuid, 'deleted', true);
END
$$;

CREATE OR REPLACE FUNCTION api.sla_exclusions(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (
        SELECT coalesce(jsonb_agg(app.sla_exclusion_json(x) ORDER BY x.starts_at, x.id), '[]'::jsonb)
        FROM app.sla_exclusions x
        WHERE x.organisation_id = app.current_organisation_id()
          AND (p ->> 'engagement_id' IS NULL OR x.engagement_id = (p ->> 'engagement_id')::uuid)
          AND (p ->> 'term_id' IS NULL OR x.term_id = (p ->> 'term_id')::uuid));
END
$$;

REVOKE ALL ON FUNCTION app.sla_exclusion_json(app.sla_exclusions), api.sla_paths(), api.sla_add_exclusion(jsonb),
    api.sla_remove_exclusion(jsonb), api.sla_exclusions(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.sla_exclusion_json(app.sla_exclusions), api.sla_paths(), api.sla_add_exclusion(jsonb),
    api.sla_remove_exclusion(jsonb), api.sla_exclusions(jsonb) TO engagement_app;

CREATE OR REPLACE VIEW reporting.sla_exclusions WITH (security_barrier) AS
SELECT x.id, x.term_id, t.metric, k.reference AS contract_reference, x.engagement_id, e.code AS engagement_code, x.starts_at,
       x.ends_at, round(extract(epoch FROM x.ends_at - x.starts_at) / 60, 2) AS minutes, x.reason, x.created_at
FROM app.sla_exclusions x
JOIN app.contract_sla_terms t ON t.organisation_id = x.organisation_id AND t.id = x.term_id
JOIN app.contracts k ON k.organisation_id = t.organisation_id AND k.id = t.contract_id
JOIN app.engagements e ON e.organisation_id = x.organisation_id AND e.id = x.engagement_id
WHERE x.organisation_id = (SELECT app.current_organisation_id());
GRANT SELECT ON reporting.sla_exclusions TO engagement_reporting;
