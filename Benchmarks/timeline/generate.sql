-- Timeline entries for the search benchmark: one organisation of :big entries and :orgs organisations of :per_org
-- entries each, 100 engagements per organisation, over two years. Titles (6 words) and bodies (14 words) are made
-- of 5,000 pseudo-words drawn log-uniformly (word k has probability ~ 1 / (k ln 5000)), so a few words are in
-- most entries and most words in few: the searches below pick words by how common they are. Loaded with the
-- indexes dropped and rebuilt after, as a bulk load would be.
SET client_min_messages = warning;
SET maintenance_work_mem = '1GB';
SET synchronous_commit = off;

-- Word k (0–4,999) from four syllables picked by its digits: no table to look up per word.
CREATE FUNCTION pg_temp.word(k integer) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT (ARRAY['ka','lo','mi','ne','ru','sa','te','vo','zu','pi'])[1 + k / 1000 % 10]
        || (ARRAY['bar','den','fir','gol','hum','jor','kel','lan','mor','nup'])[1 + k / 100 % 10]
        || (ARRAY['a','e','i','o','u','ay','ey','oy','ix','ul'])[1 + k / 10 % 10]
        || (ARRAY['th','sk','pr','gr','dl','mb','nt','rs','lk','st'])[1 + k % 10]
$$;

INSERT INTO app.organisations (name) SELECT 'Search ' || n FROM generate_series(0, :orgs) n;
ALTER TABLE app.engagements DISABLE TRIGGER USER;
INSERT INTO app.services (organisation_id, code, name)
SELECT id, 'S', 'Service' FROM app.organisations WHERE name LIKE 'Search %';
INSERT INTO app.parties (organisation_id, kind, name)
SELECT id, 'customer', 'Customer' FROM app.organisations WHERE name LIKE 'Search %';
INSERT INTO app.engagements (organisation_id, service_id, customer_party_id, code, name, start_date)
SELECT o.id, s.id, p.id, 'E' || n, 'Engagement ' || n, '2024-01-01'
FROM app.organisations o
JOIN app.services s ON s.organisation_id = o.id
JOIN app.parties p ON p.organisation_id = o.id AND p.kind = 'customer',
     generate_series(1, 100) n
WHERE o.name LIKE 'Search %';
ALTER TABLE app.engagements ENABLE TRIGGER USER;

DROP INDEX app.timeline_by_engagement, app.timeline_by_time, app.timeline_search;
CREATE TEMPORARY TABLE plan AS
SELECT o.id AS organisation_id, CASE WHEN o.name = 'Search 0' THEN :big ELSE :per_org END AS entries
FROM app.organisations o WHERE o.name LIKE 'Search %';

-- log-uniform word index: floor(5000 ^ random()) - 1.
INSERT INTO app.timeline_entries (organisation_id, engagement_id, occurred_at, entry_type, title, body)
SELECT p.organisation_id, e.ids[1 + (g % 100)],
       timestamptz '2024-01-01' + (g::float8 / p.entries) * interval '730 days',
       (ARRAY['note', 'check_in', 'risk_raised', 'touchpoint', 'status_changed'])[1 + g % 5],
       (SELECT string_agg(pg_temp.word(floor(power(5000, random() + 0 * i))::int - 1), ' ') FROM generate_series(1, 6 + (g % 1)) i),
       (SELECT string_agg(pg_temp.word(floor(power(5000, random() + 0 * i))::int - 1), ' ') FROM generate_series(1, 14 + (g % 1)) i)
FROM plan p
CROSS JOIN LATERAL (SELECT array_agg(id) AS ids FROM app.engagements x WHERE x.organisation_id = p.organisation_id) e
CROSS JOIN LATERAL generate_series(1, p.entries) g;

CREATE INDEX timeline_by_engagement ON app.timeline_entries (organisation_id, engagement_id, occurred_at, id);
CREATE INDEX timeline_by_time ON app.timeline_entries (organisation_id, occurred_at, id);
CREATE INDEX timeline_search ON app.timeline_entries USING gin (organisation_id, search);
VACUUM ANALYZE app.timeline_entries;
