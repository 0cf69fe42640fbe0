-- contract.*: contracts with a customer, their rate overrides and SLA terms. Amounts arrive as JSON numbers and
-- are stored as numeric: the exact digits sent are the digits kept (jsonb keeps them too).

-- Constraint names → params, shared by the contract functions.
CREATE OR REPLACE FUNCTION api.contract_paths() RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT '{"contracts_customer_fk": "customer_party_id", "contracts_customer_kind": "customer_party_id",
             "contracts_dates": "end_date", "contracts_value": "total_value",
             "contracts_reference_unique": "reference"}'::jsonb
$$;

CREATE OR REPLACE FUNCTION api.contract_create(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('contract.create', p);
    created app.contracts;
    state text;
    failed_constraint text;
    message text;
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.contracts (organisation_id, customer_party_id, reference, title, contract_type, total_value,
                               currency, start_date, end_date, status, created_by, updated_by)
    VALUES (app.current_organisation_id(), (p ->> 'customer_party_id')::uuid, btrim(p ->> 'reference'),
            btrim(p ->> 'title'), p ->> 'contract_type', (p ->> 'total_value')::numeric, p ->> 'currency',
            (p ->> 'start_date')::date, (p ->> 'end_date')::date, coalesce(p ->> 'status', 'draft'),
            app.current_user_id(), app.current_user_id())
    RETURNING * INTO created;
    RETURN api.remember('contract.create', p, app.contract_json(created));
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.contract_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.contract_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.contract_get(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.contracts;
BEGIN
    SELECT * INTO item FROM app.contracts WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    IF p ->> 'as_of' IS NOT NULL THEN
        RETURN app.contract_as_of(item, (p ->> 'as_of')::timestamptz);  -- 0340_point_in_time.sql
    END IF;
    RETURN app.contract_json(item);
END
$$;

-- Absent fields stay; total_value and end_date: null clears them (total_value only for an MOU).
CREATE OR REPLACE FUNCTION api.contract_update(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    v_end_date date := (p ->> 'end_date')::date;
    v_start_date date := (p ->> 'start_date')::date;
    current_version integer;
    updated app.contracts;
    state text;
    failed_constraint text;
    message text;
BEGIN
    UPDATE app.contracts row SET
        customer_party_id = coalesce((p ->> 'customer_party_id')::uuid, row.customer_party_id),
        reference = coalesce(btrim(p ->> 'reference'), row.reference),
        title = coalesce(btrim(p ->> 'title'), row.title),
        contract_type = coalesce(p ->> 'contract_type', row.contract_type),
        total_value = CASE WHEN p ? 'total_value' THEN (p ->> 'total_value')::numeric ELSE row.total_value END,
        currency = coalesce(p ->> 'currency', row.currency),
        start_date = coalesce(v_start_date, row.start_date),
        end_date = CASE WHEN p ? 'end_date' THEN v_end_date ELSE row.end_date END,
        status = coalesce(p ->> 'status', row.status)
    WHERE row.id = (p ->> 'id')::uuid AND row.version = (p ->> 'version')::integer
    RETURNING * INTO updated;
    IF NOT FOUND THEN
        SELECT version INTO current_version FROM app.contracts WHERE id = (p ->> 'id')::uuid;
        PERFORM api.refuse_versioned_write((p ->> 'version')::integer, current_version);
    END IF;
    RETURN app.contract_json(updated);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, failed_constraint = CONSTRAINT_NAME, message = MESSAGE_TEXT;
    IF NOT api.contract_paths() ? failed_constraint THEN
        RAISE;
    END IF;
    PERFORM api.reraise(state, failed_constraint, message, api.contract_paths());
END
$$;

CREATE OR REPLACE FUNCTION api.contract_delete(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN api.versioned_delete(p, 'app.contracts');
END
$$;

-- Sort key "name" is the title.
CREATE OR REPLACE FUNCTION api.contract_list(p jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN api.list(p, 'app.contracts', 'app.contract_json',
        $filter$
            ($1 ->> 'customer_party_id' IS NULL OR row.customer_party_id = ($1 ->> 'customer_party_id')::uuid)
        AND ($1 ->> 'status' IS NULL OR row.status = $1 ->> 'status')
        AND ($1 ->> 'contract_type' IS NULL OR row.contract_type = $1 ->> 'contract_type')
        AND ($1 ->> 'q' IS NULL OR row.title ILIKE api.contains_pattern($1 ->> 'q')
                                OR row.reference ILIKE api.contains_pattern($1 ->> 'q'))
        $filter$,
        '{"name": ["title", "text"], "created_at": ["created_at", "timestamptz"]}');
END
$$;

-- The terms: each change replies with the whole contract; an unknown contract is not found.
CREATE OR REPLACE FUNCTION api.contract_for_terms(p jsonb) RETURNS app.contracts
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    item app.contracts;
BEGIN
    SELECT * INTO item FROM app.contracts WHERE id = (p ->> 'id')::uuid;
    IF NOT FOUND THEN
        PERFORM api.not_found();
    END IF;
    RETURN item;
END
$$;

CREATE OR REPLACE FUNCTION api.contract_set_rate(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    item app.contracts := api.contract_for_terms(p);
BEGIN
    INSERT INTO app.contract_rates (organisation_id, contract_id, rate_key, rate_per_hour)
    VALUES (item.organisation_id, item.id, btrim(p ->> 'rate_key'), (p ->> 'rate_per_hour')::numeric)
    ON CONFLICT (organisation_id, contract_id, rate_key) DO UPDATE SET rate_per_hour = EXCLUDED.rate_per_hour;
    RETURN app.contract_json(item);
END
$$;

-- No effect when there is no such rate.
CREATE OR REPLACE FUNCTION api.contract_remove_rate(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    item app.contracts := api.contract_for_terms(p);
BEGIN
    DELETE FROM app.contract_rates WHERE contract_id = item.id AND rate_key = btrim(p ->> 'rate_key');
    RETURN app.contract_json(item);
END
$$;

CREATE OR REPLACE FUNCTION api.contract_add_sla_term(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    reply jsonb := api.replay('contract.add_sla_term', p);
    item app.contracts := api.contract_for_terms(p);
BEGIN
    IF reply IS NOT NULL THEN
        RETURN reply;
    END IF;
    INSERT INTO app.contract_sla_terms (organisation_id, contract_id, metric, target, comparison, measurement_period,
                                        penalty, exclusions)
    VALUES (item.organisation_id, item.id, btrim(p ->> 'metric'), (p ->> 'target')::numeric, p ->> 'comparison',
            p ->> 'measurement_period', coalesce(p -> 'penalty', '{"tiers": []}'), coalesce(p ->> 'exclusions', ''));
    RETURN api.remember('contract.add_sla_term', p, app.contract_json(item));
END
$$;

-- Fields left out keep their value; an unknown term changes nothing.
CREATE OR REPLACE FUNCTION api.contract_update_sla_term(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    item app.contracts := api.contract_for_terms(p);
BEGIN
    UPDATE app.contract_sla_terms t SET
        metric = coalesce(btrim(p ->> 'metric'), t.metric),
        target = coalesce((p ->> 'target')::numeric, t.target),
        comparison = coalesce(p ->> 'comparison', t.comparison),
        measurement_period = coalesce(p ->> 'measurement_period', t.measurement_period),
        penalty = coalesce(p -> 'penalty', t.penalty),
        exclusions = coalesce(p ->> 'exclusions', t.exclusions)
    WHERE t.contract_id = item.id AND t.id = (p ->> 'term_id')::uuid;
    RETURN app.contract_json(item);
END
$$;

CREATE OR REPLACE FUNCTION api.contract_remove_sla_term(p jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    item app.contracts := api.contract_for_terms(p);
BEGIN
    DELETE FROM app.contract_sla_terms WHERE contract_id = item.id AND id = (p ->> 'term_id')::uuid;
    RETURN app.contract_json(item);
END
$$;

REVOKE ALL ON FUNCTION api.contract_paths(), api.contract_create(jsonb), api.contract_get(jsonb),
    api.contract_update(jsonb), api.contract_delete(jsonb), api.contract_list(jsonb), api.contract_for_terms(jsonb),
    api.contract_set_rate(jsonb), api.contract_remove_rate(jsonb), api.contract_add_sla_term(jsonb),
    api.contract_update_sla_term(jsonb), api.contract_remove_sla_term(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.contract_paths(), api.contract_create(jsonb), api.contract_get(jsonb),
    api.contract_update(jsonb), api.contract_delete(jsonb), api.contract_list(jsonb), api.contract_for_terms(jsonb),
    api.contract_set_rate(jsonb), api.contract_remove_rate(jsonb), api.contract_add_sla_term(jsonb),
    api.contract_update_sla_term(jsonb), api.contract_remove_sla_term(jsonb) TO engagement_app;
