-- Automated triggers: when EVENT (with its params) happens to an engagement and CONDITION holds for it, the
-- rule's ACTIONS run. Events come from the timeline as entries are written (status or stage changed to X, an
-- engagement of service/template Y created, health band became Z, a risk of severity ≥ S raised), so psql changes
-- fire rules too, and from a sweep for the time-driven ones (a contract ends within N days, a touchpoint missed,
-- an action item overdue, adoption below T). A match inserts a firing (the outbox row) in the same transaction;
-- one firing per rule, event and engagement (a unique key), so retries and re-sweeps never fire twice. The worker
-- (app.perform_trigger_firings, called by the server when notified and on a timer) performs each firing's actions
-- in one subtransaction with marking it done: an action refused for a reason that will not change (a playbook
-- already running, a date outside the engagement: the EV/ES/EN/EC/EF codes and constraint violations) is recorded
-- as skipped; any other failure (a lock timeout, a lost connection) rolls the firing back and retries it with
-- exponential backoff (10 s doubling, at most an hour), never losing it.

CREATE OR REPLACE FUNCTION app.trigger_events() RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$
    SELECT ARRAY['status_changed', 'stage_changed', 'engagement_created', 'health_band', 'risk_raised',
                 'contract_ending', 'touchpoint_missed', 'action_item_overdue', 'adoption_below']
$$;

-- Rules as stored: psql writes are checked like the API's (EV060 names the field).
CREATE OR REPLACE FUNCTION app.check_trigger_rule() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    key text;
    action jsonb;
    i integer := 0;
    allowed_params constant jsonb := '{"status_changed": ["to"], "stage_changed": ["to"],
        "engagement_created": ["service_id", "template_id"], "health_band": ["band"], "risk_raised": ["severity"],
        "contract_ending": ["days"], "touchpoint_missed": [], "action_item_overdue": [],
        "adoption_below": ["threshold", "product"]}';
BEGIN
    FOR key IN SELECT jsonb_object_keys(NEW.event_params) LOOP
        IF NOT allowed_params -> NEW.event ? key THEN
            RAISE EXCEPTION 'is not a param of the % event', NEW.event USING ERRCODE = 'EV060', COLUMN = 'event_params.' || key;
        END IF;
    END LOOP;
    IF (NEW.event IN ('contract_ending', 'adoption_below')
        AND NOT NEW.event_params ? (CASE NEW.event WHEN 'contract_ending' THEN 'days' ELSE 'threshold' END)) THEN
        RAISE EXCEPTION 'is required for this event' USING ERRCODE = 'EV060',
            COLUMN = 'event_params.' || CASE NEW.event WHEN 'contract_ending' THEN 'days' ELSE 'threshold' END;
    END IF;
    IF NEW.event_params ? 'severity' AND app.severity_rank(NEW.event_params ->> 'severity') IS NULL THEN
        RAISE EXCEPTION 'must be low, medium, high or critical' USING ERRCODE = 'EV060', COLUMN = 'event_params.severity';
    END IF;
    FOR key IN SELECT jsonb_object_keys(NEW.condition) LOOP
        IF key NOT IN ('service_id', 'template_id', 'stages', 'bands', 'min_contract_value', 'kpi') THEN
            RAISE EXCEPTION 'is not a field a condition can test' USING ERRCODE = 'EV060', COLUMN = 'condition.' || key;
        END IF;
    END LOOP;
    IF NEW.condition ? 'kpi' AND (NEW.condition -> 'kpi' ->> 'name' IS NULL
                                  OR coalesce(NEW.condition -> 'kpi' ->> 'comparison', '') NOT IN ('<', '<=', '>', '>=')
                                  OR jsonb_typeof(NEW.condition -> 'kpi' -> 'threshold') IS DISTINCT FROM 'number') THEN
        RAISE EXCEPTION 'needs name, comparison (<, <=, >, >=) and a number threshold' USING ERRCODE = 'EV060', COLUMN = 'condition.kpi';
    END IF;
    IF jsonb_array_length(NEW.actions) = 0 THEN
        RAISE EXCEPTION 'needs at least one action' USING ERRCODE = 'EV060', COLUMN = 'actions';
    END IF;
    FOR action IN SELECT value FROM jsonb_array_elements(NEW.actions) LOOP
        CASE action ->> 'action'
        WHEN 'raise_risk', 'schedule_touchpoint', 'create_reminder' THEN
            IF length(btrim(coalesce(action ->> 'title', ''))) = 0 THEN
                RAISE EXCEPTION 'needs a title' USING ERRCODE = 'EV060', COLUMN = format('actions[%s].title', i);
            END IF;
        WHEN 'start_playbook' THEN
            IF NOT EXISTS (SELECT FROM app.playbooks p WHERE p.organisation_id = NEW.organisation_id
                           AND p.id::text = action ->> 'playbook_id') THEN
                RAISE EXCEPTION 'is not a playbook of the organisation' USING ERRCODE = 'EV060', COLUMN = format('actions[%s].playbook_id', i);
            END IF;
        WHEN 'set_stage' THEN
            IF coalesce(action ->> 'stage', '') NOT IN ('onboarding', 'adoption', 'monitoring', 'expansion', 'renewal', 'lost') THEN
                RAISE EXCEPTION 'is not a journey stage' USING ERRCODE = 'EV060', COLUMN = format('actions[%s].stage', i);
            END IF;
        WHEN 'propose_renewal' THEN
            NULL;  -- needs nothing: the engagement's contract gives value, currency and date
        WHEN 'notify' THEN
            IF length(btrim(coalesce(action ->> 'message', ''))) = 0 THEN
                RAISE EXCEPTION 'needs a message' USING ERRCODE = 'EV060', COLUMN = format('actions[%s].message', i);
            END IF;
        ELSE
            RAISE EXCEPTION 'is not a known action' USING ERRCODE = 'EV060', COLUMN = format('actions[%s].action', i);
        END CASE;
        IF action ->> 'action' = 'schedule_touchpoint' AND NOT EXISTS (
            SELECT FROM app.touchpoint_kinds k WHERE k.organisation_id = NEW.organisation_id AND k.name = action ->> 'kind') THEN
            RAISE EXCEPTION 'is not one of the organisation''s touchpoint kinds' USING ERRCODE = 'EV060', COLUMN = format('actions[%s].kind', i);
        END IF;
        i := i + 1;
    END LOOP;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION app.compare(p_value numeric, p_comparison text, p_threshold numeric) RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE p_comparison WHEN '<' THEN p_value < p_threshold WHEN '<=' THEN p_value <= p_threshold
                             WHEN '>' THEN p_value > p_threshold WHEN '>=' THEN p_value >= p_threshold END
$$;

CREATE OR REPLACE FUNCTION app.severity_rank(p_severity text) RETURNS integer
LANGUAGE sql IMMUTABLE
AS $$ SELECT array_position(ARRAY['low', 'medium', 'high', 'critical'], p_severity) $$;

DROP TRIGGER IF EXISTS trigger_rules_check ON app.trigger_rules;
CREATE TRIGGER trigger_rules_check BEFORE INSERT OR UPDATE ON app.trigger_rules FOR EACH ROW EXECUTE FUNCTION app.check_trigger_rule();
DROP TRIGGER IF EXISTS trigger_rules_touch ON app.trigger_rules;
CREATE TRIGGER trigger_rules_touch BEFORE UPDATE ON app.trigger_rules FOR EACH ROW EXECUTE FUNCTION app.touch();
DROP TRIGGER IF EXISTS trigger_rules_audit ON app.trigger_rules;
CREATE TRIGGER trigger_rules_audit AFTER INSERT OR UPDATE OR DELETE ON app.trigger_rules FOR EACH ROW EXECUTE FUNCTION app.audit();

-- Whether a rule's condition holds for an engagement now (every field given must hold).
CREATE OR REPLACE FUNCTION app.trigger_condition_holds(p_rule app.trigger_rules, p_engagement_id uuid) RETURNS boolean
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(bool_and(ok), true) FROM (
        SELECT CASE f.key
            WHEN 'service_id' THEN e.service_id::text = f.value #>> '{}'
            WHEN 'template_id' THEN e.template_id::text = f.value #>> '{}'
            WHEN 'stages' THEN f.value ? e.journey_stage
            WHEN 'bands' THEN f.value ? coalesce((SELECT h.band FROM app.current_health(e.organisation_id, e.id, now()) h), 'unknown')
            WHEN 'min_contract_value' THEN coalesce((SELECT k.total_value FROM app.contracts k WHERE k.organisation_id = e.organisation_id
                                                     AND k.id = e.contract_id), 0) >= (f.value #>> '{}')::numeric
            WHEN 'kpi' THEN coalesce(app.compare(
                (SELECT v.actual FROM app.kpi_values v
                 JOIN app.engagement_kpis k ON k.organisation_id = v.organisation_id AND k.id = v.kpi_id
                 JOIN app.check_ins c ON c.organisation_id = v.organisation_id AND c.id = v.check_in_id
                 WHERE v.organisation_id = e.organisation_id AND v.engagement_id = e.id
                   AND lower(k.name) = lower(f.value ->> 'name')
                 ORDER BY c.period DESC LIMIT 1),
                f.value ->> 'comparison', (f.value ->> 'threshold')::numeric), false)
            ELSE false END AS ok
        FROM app.engagements e, jsonb_each(p_rule.condition) f
        WHERE e.organisation_id = p_rule.organisation_id AND e.id = p_engagement_id) c
$$;

-- Records a firing of every enabled rule of the event whose params and condition hold (once per rule, event and
-- engagement) and wakes the worker. Returns how many were recorded.
CREATE OR REPLACE FUNCTION app.fire_trigger_rules(p_organisation_id uuid, p_engagement_id uuid, p_event text,
                                                  p_event_key text, p_details jsonb) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rule app.trigger_rules;
    recorded integer := 0;
    added integer;
BEGIN
    FOR rule IN SELECT * FROM app.trigger_rules r WHERE r.organisation_id = p_organisation_id AND r.event = p_event AND r.enabled LOOP
        CONTINUE WHEN NOT CASE
            WHEN p_event IN ('status_changed', 'stage_changed') THEN NOT rule.event_params ? 'to' OR rule.event_params ->> 'to' = p_details ->> 'to'
            WHEN p_event = 'engagement_created' THEN (NOT rule.event_params ? 'service_id' OR rule.event_params ->> 'service_id' = p_details ->> 'service_id')
                                       AND (NOT rule.event_params ? 'template_id' OR rule.event_params ->> 'template_id' = p_details ->> 'template_id')
            WHEN p_event = 'health_band' THEN (NOT rule.event_params ? 'band' OR rule.event_params ->> 'band' = p_details ->> 'band')
                                AND p_details ->> 'band' IS DISTINCT FROM p_details ->> 'previous'
            WHEN p_event = 'risk_raised' THEN app.severity_rank(p_details ->> 'severity') >= coalesce(app.severity_rank(rule.event_params ->> 'severity'), 1)
            WHEN p_event = 'adoption_below' THEN (NOT rule.event_params ? 'product' OR lower(rule.event_params ->> 'product') = lower(p_details ->> 'product'))
            ELSE true END;
        CONTINUE WHEN NOT app.trigger_condition_holds(rule, p_engagement_id);
        INSERT INTO app.trigger_firings (organisation_id, rule_id, engagement_id, event, event_key, event_details)
        VALUES (p_organisation_id, rule.id, p_engagement_id, p_event, p_event_key, coalesce(p_details, '{}'))
        ON CONFLICT ON CONSTRAINT trigger_firings_once DO NOTHING;
        GET DIAGNOSTICS added = ROW_COUNT;
        recorded := recorded + added;
    END LOOP;
    IF recorded > 0 THEN
        PERFORM app.notify_listeners('engagement_trigger_firings', '');
    END IF;
    RETURN recorded;
END
$$;
REVOKE ALL ON FUNCTION app.fire_trigger_rules(uuid, uuid, text, text, jsonb) FROM PUBLIC;

-- Change events, from the timeline as its entries are written. Changes made by trigger actions fire no rules:
-- no chains, so no loops (a rule raising a risk on every risk raised).
CREATE OR REPLACE FUNCTION app.trigger_events_from_timeline() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF current_setting('app.method', true) IS DISTINCT FROM 'trigger' AND NEW.entry_type IN ('status_changed', 'stage_changed', 'engagement_created', 'health_band', 'risk_raised') THEN
        PERFORM app.fire_trigger_rules(NEW.organisation_id, NEW.engagement_id, NEW.entry_type, 'timeline:' || NEW.id, NEW.details);
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION app.trigger_events_from_timeline() FROM PUBLIC;
DROP TRIGGER IF EXISTS timeline_entries_trigger_events ON app.timeline_entries;
CREATE TRIGGER timeline_entries_trigger_events AFTER INSERT ON app.timeline_entries
    FOR EACH ROW EXECUTE FUNCTION app.trigger_events_from_timeline();

-- Time-driven events, found by a sweep the server runs periodically (one instance at a time). Returns the
-- firings recorded.
CREATE OR REPLACE FUNCTION app.sweep_trigger_events(p_now timestamptz DEFAULT now()) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rule app.trigger_rules;
    found_event record;
    recorded integer := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtextextended('trigger-event-sweep', 0)) THEN
        RETURN 0;
    END IF;
    FOR rule IN SELECT * FROM app.trigger_rules r WHERE r.enabled
                  AND r.event IN ('contract_ending', 'touchpoint_missed', 'action_item_overdue', 'adoption_below') LOOP
        FOR found_event IN
            SELECT e.id AS engagement_id, 'contract:' || k.id || ':' || k.end_date AS event_key,
                   jsonb_build_object('contract_id', k.id, 'reference', k.reference, 'end_date', k.end_date) AS details
            FROM app.engagements e JOIN app.contracts k ON k.organisation_id = e.organisation_id AND k.id = e.contract_id
            WHERE rule.event = 'contract_ending' AND e.organisation_id = rule.organisation_id AND e.status IN ('active', 'on_hold')
              AND k.end_date BETWEEN p_now::date AND p_now::date + (rule.event_params ->> 'days')::integer
            UNION ALL
            SELECT t.engagement_id, 'touchpoint:' || t.id, jsonb_build_object('touchpoint_id', t.id, 'title', t.title, 'scheduled_at', t.scheduled_at)
            FROM app.touchpoints t JOIN app.engagements e ON e.organisation_id = t.organisation_id AND e.id = t.engagement_id
            WHERE rule.event = 'touchpoint_missed' AND t.organisation_id = rule.organisation_id AND e.status IN ('active', 'on_hold')
              AND t.held_at IS NULL AND t.scheduled_at < p_now
            UNION ALL
            SELECT t.engagement_id, 'action_item:' || a.id, jsonb_build_object('action_item_id', a.id, 'title', a.title, 'due_date', a.due_date)
            FROM app.action_items a
            JOIN app.touchpoints t ON t.organisation_id = a.organisation_id AND t.id = a.touchpoint_id
            JOIN app.engagements e ON e.organisation_id = t.organisation_id AND e.id = t.engagement_id
            WHERE rule.event = 'action_item_overdue' AND a.organisation_id = rule.organisation_id AND e.status IN ('active', 'on_hold')
              AND a.done_at IS NULL AND a.due_date < p_now::date
            UNION ALL
            SELECT x.engagement_id, 'adoption:' || x.product || ':' || x.period, to_jsonb(x) - 'engagement_id'
            FROM (SELECT m.engagement_id, p.name AS product, max(m.period) AS period,
                         app.adoption_measure(m.organisation_id, m.engagement_id, NULL, 'adoption_score', p.name, NULL) AS adoption_score
                  FROM app.adoption_months m
                  JOIN app.products p ON p.organisation_id = m.organisation_id AND p.id = m.product_id
                  JOIN app.engagements e ON e.organisation_id = m.organisation_id AND e.id = m.engagement_id
                  WHERE rule.event = 'adoption_below' AND m.organisation_id = rule.organisation_id AND e.status IN ('active', 'on_hold')
                    AND (NOT rule.event_params ? 'product' OR lower(p.name) = lower(rule.event_params ->> 'product'))
                  GROUP BY m.organisation_id, m.engagement_id, p.name) x
            WHERE x.adoption_score < (rule.event_params ->> 'threshold')::numeric
        LOOP
            CONTINUE WHEN NOT app.trigger_condition_holds(rule, found_event.engagement_id);
            INSERT INTO app.trigger_firings (organisation_id, rule_id, engagement_id, event, event_key, event_details)
            VALUES (rule.organisation_id, rule.id, found_event.engagement_id, rule.event, found_event.event_key, found_event.details)
            ON CONFLICT ON CONSTRAINT trigger_firings_once DO NOTHING;
            IF FOUND THEN
                recorded := recorded + 1;
            END IF;
        END LOOP;
    END LOOP;
    IF recorded > 0 THEN
        PERFORM app.notify_listeners('engagement_trigger_firings', '');
    END IF;
    RETURN recorded;
END
$$;
REVOKE ALL ON FUNCTION app.sweep_trigger_events(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.sweep_trigger_events(timestamptz) TO engagement_app;
