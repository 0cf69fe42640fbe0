-- Touchpoints (scheduled and held interactions with the customer) and their action items. The kinds are a
-- per-organisation list, seeded with the usual ones. Rules, methods and views: SQL/definitions/0210_touchpoints.sql;
-- policies: 9000_policies.sql.
CREATE TABLE app.touchpoint_kinds (
    organisation_id uuid NOT NULL REFERENCES app.organisations (id) ON DELETE CASCADE,
    name text NOT NULL CONSTRAINT touchpoint_kinds_name CHECK (name ~ '^[a-z][a-z0-9_]{0,39}$'),
    PRIMARY KEY (organisation_id, name)
);
INSERT INTO app.touchpoint_kinds (organisation_id, name)
SELECT o.id, k.name FROM app.organisations o,
    unnest(ARRAY['meeting', 'qbr', 'health_check', 'support', 'renewal_discussion']) AS k(name);

CREATE TABLE app.touchpoints (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    engagement_id uuid NOT NULL,
    kind text NOT NULL,
    title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    scheduled_at timestamptz,
    held_at timestamptz,
    -- [{name, email}]: the customer's contacts and the team's users who took part.
    attendees jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(attendees) = 'array'),
    notes text NOT NULL DEFAULT '',
    -- The touchpoint this one follows up.
    follow_up_of uuid,
    version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT touchpoints_when CHECK (scheduled_at IS NOT NULL OR held_at IS NOT NULL),
    CONSTRAINT touchpoints_engagement_fk FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES app.engagements (organisation_id, id) ON DELETE CASCADE,
    CONSTRAINT touchpoints_kind_fk FOREIGN KEY (organisation_id, kind) REFERENCES app.touchpoint_kinds (organisation_id, name),
    CONSTRAINT touchpoints_follow_up_fk FOREIGN KEY (organisation_id, follow_up_of)
        REFERENCES app.touchpoints (organisation_id, id) ON DELETE SET NULL (follow_up_of)
);
-- An engagement's touchpoints by time (lists, "last touchpoint"), and the open schedule for missed ones.
CREATE INDEX touchpoints_by_engagement ON app.touchpoints (organisation_id, engagement_id, coalesce(held_at, scheduled_at));
CREATE INDEX touchpoints_unheld ON app.touchpoints (organisation_id, scheduled_at) WHERE held_at IS NULL;
CREATE INDEX touchpoints_follow_ups ON app.touchpoints (organisation_id, follow_up_of) WHERE follow_up_of IS NOT NULL;
CREATE INDEX touchpoints_by_created ON app.touchpoints (organisation_id, created_at, id);

CREATE TABLE app.action_items (
    organisation_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    touchpoint_id uuid NOT NULL,
    title text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 500),
    owner_user_id uuid,
    due_date date,
    done_at timestamptz,
    version integer NOT NULL DEFAULT 1,
    -- clock_timestamp: the items of one touchpoint.create keep the order they were given in.
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (organisation_id, id),
    CONSTRAINT action_items_touchpoint_fk FOREIGN KEY (organisation_id, touchpoint_id)
        REFERENCES app.touchpoints (organisation_id, id) ON DELETE CASCADE,
    CONSTRAINT action_items_owner_fk FOREIGN KEY (organisation_id, owner_user_id) REFERENCES app.users (organisation_id, id)
);
CREATE INDEX action_items_by_touchpoint ON app.action_items (organisation_id, touchpoint_id, created_at);
-- Open items by due date (overdue queries) and by owner.
CREATE INDEX action_items_open ON app.action_items (organisation_id, due_date) WHERE done_at IS NULL;
CREATE INDEX action_items_by_owner ON app.action_items (organisation_id, owner_user_id) WHERE owner_user_id IS NOT NULL;

ALTER TABLE app.touchpoint_kinds ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.touchpoint_kinds FORCE ROW LEVEL SECURITY;
ALTER TABLE app.touchpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.touchpoints FORCE ROW LEVEL SECURITY;
ALTER TABLE app.action_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.action_items FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT ON app.touchpoint_kinds TO engagement_app;
GRANT SELECT, INSERT, DELETE ON app.touchpoints, app.action_items TO engagement_app;
GRANT UPDATE (kind, title, scheduled_at, held_at, attendees, notes, follow_up_of) ON app.touchpoints TO engagement_app;
GRANT UPDATE (title, owner_user_id, due_date, done_at) ON app.action_items TO engagement_app;
