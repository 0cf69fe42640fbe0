-- Automated triggers: per-organisation rules (when EVENT and CONDITION then ACTIONS) and their firings, which are
-- the transactional outbox: a firing commits with the change that caused it (or with the sweep that found a
-- time-driven event), and the worker performs its actions and marks it done. Rules, matching, the sweep and the
-- worker: SQL/definitions/0320_trigger_rules.sql.
CREATE TABLE app.trigger_rules (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    event text NOT NULL CHECK (event IN ('status_changed', 'stage_changed', 'engagement_created', 'health_band',
                                         'risk_raised', 'contract_ending', 'touchpoint_missed', 'action_item_overdue',
                                         'adoption_below')),
    event_params jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(event_params) = 'object'),
    condition jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(condition) = 'object'),
    actions jsonb NOT NULL CHECK (jsonb_typeof(actions) = 'array'),
    enabled boolean NOT NULL DEFAULT true,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id)
);
CREATE UNIQUE INDEX trigger_rules_name_unique ON app.trigger_rules (organisation_id, lower(name));
CREATE INDEX trigger_rules_by_event ON app.trigger_rules (organisation_id, event) WHERE enabled;
CREATE INDEX trigger_rules_by_name ON app.trigger_rules (organisation_id, name, id);
CREATE INDEX trigger_rules_by_created ON app.trigger_rules (organisation_id, created_at, id);

CREATE TABLE app.trigger_firings (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    rule_id uuid NOT NULL,
    engagement_id uuid NOT NULL,
    event text NOT NULL,
    -- The identity of the triggering event (a timeline entry, a contract's end date, a touchpoint …): one firing
    -- per rule, event and engagement.
    event_key text NOT NULL,
    event_details jsonb NOT NULL DEFAULT '{}',
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    -- Per action: {action, outcome: done | skipped, detail}.
    results jsonb,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    done_at timestamptz,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT trigger_firings_once UNIQUE (organisation_id, rule_id, engagement_id, event_key),
    CONSTRAINT trigger_firings_rule_fk FOREIGN KEY (organisation_id, rule_id)
        REFERENCES app.trigger_rules (organisation_id, id) ON DELETE CASCADE,
    CONSTRAINT trigger_firings_engagement_fk FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES app.engagements (organisation_id, id) ON DELETE CASCADE
);
-- The worker serves every organisation, so its queue index is by due time alone (the one key here that does
-- not start with organisation_id; no client reads through it).
CREATE INDEX trigger_firings_queue ON app.trigger_firings (next_attempt_at) WHERE status = 'pending';
CREATE INDEX trigger_firings_by_engagement ON app.trigger_firings (organisation_id, engagement_id, created_at);
CREATE INDEX trigger_firings_by_created ON app.trigger_firings (organisation_id, created_at, id);

ALTER TABLE app.trigger_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.trigger_rules FORCE ROW LEVEL SECURITY;
ALTER TABLE app.trigger_firings ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.trigger_firings FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, DELETE ON app.trigger_rules TO engagement_app;
GRANT UPDATE (name, event, event_params, condition, actions, enabled) ON app.trigger_rules TO engagement_app;
GRANT SELECT ON app.trigger_firings TO engagement_app;
