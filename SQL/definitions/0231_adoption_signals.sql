-- Adoption as a health-model metric and a risk-rule condition, through the machinery both already have:
--   adoption_score       the product's adoption score            (0–100, docs/protocol.md)
--   licence_utilisation  active ÷ purchased licences             (0–100)
--   capability_coverage  mean of the product's capability scores (0–100)
--   capability_usage     one capability's score                  (0–100; names `product` and `capability`)
-- Without `product`, the first three are the mean over the products recorded that month. A health metric reads
-- the check-in's month; a rule reads the latest month with adoption data. The scores are the ones
-- app.adoption_month_json reports, so the API, health and rules never disagree.

-- The measure for one engagement and month (NULL: the latest month recorded for the product(s)).
CREATE OR REPLACE FUNCTION app.adoption_measure(
    p_organisation_id uuid, p_engagement_id uuid, p_period date, p_measure text, p_product text, p_capability text)
RETURNS numeric
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN (
        SELECT round(avg(CASE WHEN p_measure = 'capability_usage'
                              THEN (SELECT (c ->> 'score')::numeric FROM jsonb_array_elements(x.j -> 'capabilities') c
                                    WHERE lower(c ->> 'capability') = lower(btrim(p_capability)))
                              ELSE (x.j ->> p_measure)::numeric END), 2)
        FROM app.adoption_months m
        JOIN app.products p ON p.organisation_id = m.organisation_id AND p.id = m.product_id
        CROSS JOIN LATERAL (SELECT app.adoption_month_json(m) AS j) x
        WHERE m.organisation_id = p_organisation_id AND m.engagement_id = p_engagement_id
          AND (p_product IS NULL OR lower(p.name) = lower(btrim(p_product)))
          AND m.period = coalesce(p_period, (
              SELECT max(m2.period) FROM app.adoption_months m2
              JOIN app.products p2 ON p2.organisation_id = m2.organisation_id AND p2.id = m2.product_id
              WHERE m2.organisation_id = p_organisation_id AND m2.engagement_id = p_engagement_id
                AND (p_product IS NULL OR lower(p2.name) = lower(btrim(p_product))))));
END
$$;

-- A metric's or rule's product and capability: only for the adoption measures; capability_usage names both; they
-- exist in the organisation. `p_code` is the caller's EV code, `p_prefix` the path of the metric (`metrics[2].`).
CREATE OR REPLACE FUNCTION app.check_adoption_target(
    p_organisation_id uuid, p_measure text, p_product text, p_capability text, p_code text, p_prefix text)
RETURNS void
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    adoption constant boolean := p_measure IN ('adoption_score', 'licence_utilisation', 'capability_coverage', 'capability_usage');
    target_product uuid;
BEGIN
    IF p_product IS NOT NULL AND NOT adoption THEN
        RAISE EXCEPTION 'names a product only for an adoption measure' USING ERRCODE = p_code, COLUMN = p_prefix || 'product';
    END IF;
    IF (p_capability IS NOT NULL) <> (p_measure = 'capability_usage') THEN
        RAISE EXCEPTION 'names the capability of capability_usage, and only there' USING ERRCODE = p_code, COLUMN = p_prefix || 'capability';
    END IF;
    IF p_measure = 'capability_usage' AND p_product IS NULL THEN
        RAISE EXCEPTION 'is required for capability_usage' USING ERRCODE = p_code, COLUMN = p_prefix || 'product';
    END IF;
    IF p_product IS NOT NULL THEN
        SELECT p.id INTO target_product FROM app.products p
        WHERE p.organisation_id = p_organisation_id AND lower(p.name) = lower(btrim(p_product));
        IF target_product IS NULL THEN
            RAISE EXCEPTION 'is not a product of the organisation' USING ERRCODE = p_code, COLUMN = p_prefix || 'product';
        END IF;
        IF p_capability IS NOT NULL AND NOT EXISTS (
            SELECT FROM app.capabilities c WHERE c.organisation_id = p_organisation_id AND c.product_id = target_product
              AND lower(c.name) = lower(btrim(p_capability))) THEN
            RAISE EXCEPTION 'is not a capability of the product' USING ERRCODE = p_code, COLUMN = p_prefix || 'capability';
        END IF;
    END IF;
END
$$;

-- Adoption written (by the API or psql): at commit, the month's health score is recomputed and the engagement's
-- rules are evaluated, as after a check-in.
CREATE OR REPLACE FUNCTION app.score_adoption_month() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    month record;
BEGIN
    IF TG_TABLE_NAME = 'capability_usage' THEN
        SELECT m.organisation_id, m.engagement_id, m.period INTO month FROM app.adoption_months m
        WHERE m.organisation_id = (CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END).organisation_id
          AND m.id = (CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END).adoption_month_id;
        IF NOT FOUND THEN
            RETURN NULL;  -- its month went too; that month's own trigger rescores
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT OLD.organisation_id, OLD.engagement_id, OLD.period INTO month;
    ELSE
        SELECT NEW.organisation_id, NEW.engagement_id, NEW.period INTO month;
    END IF;
    PERFORM app.compute_health_score(month.organisation_id, month.engagement_id, month.period);
    PERFORM app.evaluate_risk_rules(month.organisation_id, month.engagement_id, NULL, now());
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION app.adoption_measure(uuid, uuid, date, text, text, text),
    app.check_adoption_target(uuid, text, text, text, text, text), app.score_adoption_month() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.adoption_measure(uuid, uuid, date, text, text, text),
    app.check_adoption_target(uuid, text, text, text, text, text) TO engagement_app;

DROP TRIGGER IF EXISTS adoption_months_score ON app.adoption_months;
CREATE CONSTRAINT TRIGGER adoption_months_score AFTER INSERT OR UPDATE OR DELETE ON app.adoption_months
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION app.score_adoption_month();
DROP TRIGGER IF EXISTS capability_usage_score ON app.capability_usage;
CREATE CONSTRAINT TRIGGER capability_usage_score AFTER INSERT OR UPDATE OR DELETE ON app.capability_usage
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION app.score_adoption_month();
