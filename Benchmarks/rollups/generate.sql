-- Bulk data for the rollup measurements: :orgs organisations with :per_org engagements each, arranged as
-- 10-ary trees, plus (in the first organisation, when :subtrees is true) one subtree of 1,001 and one of 10,001
-- engagements for the live recursive rollup. Each engagement: a contract (one of ten per organisation), three monthly check-ins with two
-- finance lines and a capacity entry, a stored health score per month, and an open risk for every fifth.
-- Loaded as the superuser with triggers off (session_replication_role = replica): this measures reading and
-- refreshing rollups, not the write path.
SET session_replication_role = replica;

CREATE TEMPORARY TABLE org_map AS
SELECT o, gen_random_uuid() AS id, gen_random_uuid() AS service, gen_random_uuid() AS customer, gen_random_uuid() AS self
FROM generate_series(1, :orgs) o;
INSERT INTO app.organisations (id, name) SELECT id, 'Bench ' || o FROM org_map;
INSERT INTO app.parties (organisation_id, id, kind, name)
SELECT id, self, 'self', 'Bench ' || o FROM org_map UNION ALL SELECT id, customer, 'customer', 'Customer ' || o FROM org_map;
INSERT INTO app.services (organisation_id, id, code, name) SELECT id, service, 'SVC', 'Service' FROM org_map;
INSERT INTO app.health_models (organisation_id, name, is_default, metrics)
SELECT id, 'Standard', true, '[{"metric": "kpi_attainment", "weight": 1}]' FROM org_map;
INSERT INTO app.contracts (organisation_id, id, customer_party_id, reference, title, contract_type, total_value, currency, start_date)
SELECT m.id, gen_random_uuid(), m.customer, 'K' || k, 'Contract ' || k, 'fixed_fee', 10000 * k,
       CASE WHEN k % 3 = 0 THEN 'GBP' ELSE 'EUR' END, '2025-01-01'
FROM org_map m, generate_series(0, 9) k;

-- Engagement i of an organisation has parent (i - 2) / 10 + 1 (a 10-ary tree rooted at 1); the special
-- subtrees of the first organisation: root 1001 → 10 children → 99 each, root 2001 → 100 children → 99 each.
CREATE TEMPORARY TABLE eng_map AS
SELECT m.o, m.id AS organisation_id, i, gen_random_uuid() AS id,
       CASE WHEN i > 1 THEN (i - 2) / 10 + 1 END AS parent_i
FROM org_map m, generate_series(1, :per_org) i;
INSERT INTO eng_map (o, organisation_id, i, id, parent_i)
SELECT 1, (SELECT id FROM org_map WHERE o = 1), n, gen_random_uuid(), p
FROM (SELECT 1000001 AS n, NULL::int AS p
      UNION ALL SELECT 1000001 + c, 1000001 FROM generate_series(1, 10) c
      UNION ALL SELECT 1100000 + c * 100 + g, 1000001 + c FROM generate_series(1, 10) c, generate_series(1, 99) g
      UNION ALL SELECT 2000001, NULL
      UNION ALL SELECT 2000001 + c, 2000001 FROM generate_series(1, 100) c
      UNION ALL SELECT 2100000 + c * 100 + g, 2000001 + c FROM generate_series(1, 100) c, generate_series(1, 99) g) t(n, p)
WHERE :subtrees;
CREATE INDEX ON eng_map (organisation_id, i);
ANALYZE eng_map;

INSERT INTO app.engagements (organisation_id, id, service_id, customer_party_id, contract_id, code, name, status, start_date, parent_id)
SELECT e.organisation_id, e.id, m.service, m.customer,
       (SELECT k.id FROM app.contracts k WHERE k.organisation_id = e.organisation_id AND k.reference = 'K' || (e.i % 10)),
       'E' || e.i, 'Engagement ' || e.i,
       CASE WHEN e.i % 17 = 0 THEN 'on_hold' WHEN e.i % 23 = 0 THEN 'draft' ELSE 'active' END, '2025-01-01',
       p.id
FROM eng_map e JOIN org_map m ON m.id = e.organisation_id
LEFT JOIN eng_map p ON p.organisation_id = e.organisation_id AND p.i = e.parent_i;
INSERT INTO app.engagement_deliverers (organisation_id, engagement_id, party_id, role)
SELECT e.organisation_id, e.id, m.self, 'lead' FROM eng_map e JOIN org_map m ON m.id = e.organisation_id;
-- Active since the start of 2025 (for decay).
INSERT INTO app.engagement_transitions (organisation_id, engagement_id, from_status, to_status, changed_at)
SELECT organisation_id, id, 'draft', 'active', '2025-01-01' FROM eng_map;

CREATE TEMPORARY TABLE checkin_map AS
SELECT e.organisation_id, e.id AS engagement_id, e.i, gen_random_uuid() AS id, make_date(2025, mo, 1) AS period
FROM eng_map e, generate_series(1, 3) mo;
INSERT INTO app.check_ins (organisation_id, id, engagement_id, period) SELECT organisation_id, id, engagement_id, period FROM checkin_map;
INSERT INTO app.finance_lines (organisation_id, check_in_id, line_no, engagement_id, category, plan, actual, currency)
SELECT c.organisation_id, c.id, l, c.engagement_id, CASE l WHEN 1 THEN 'revenue' ELSE 'labour_cost' END,
       1000 * l, 1000 * l + (c.i % 7) * 10, k.currency
FROM checkin_map c
JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.id = c.engagement_id
JOIN app.contracts k ON k.organisation_id = e.organisation_id AND k.id = e.contract_id, generate_series(1, 2) l;
INSERT INTO app.capacity_entries (organisation_id, check_in_id, line_no, engagement_id, role, planned_hours, actual_hours)
SELECT organisation_id, id, 1, engagement_id, 'Engineer', 100, 90 + i % 20 FROM checkin_map;
INSERT INTO app.health_scores (organisation_id, engagement_id, period, model_id, score, band, metrics)
SELECT c.organisation_id, c.engagement_id, c.period, m.id, (c.i * 37 % 100)::numeric,
       app.health_band((c.i * 37 % 100)::numeric, 40, 70), '[]'
FROM checkin_map c JOIN app.health_models m ON m.organisation_id = c.organisation_id AND m.is_default;
INSERT INTO app.risk_signals (organisation_id, engagement_id, title, probability, impact, value_at_risk, currency)
SELECT e.organisation_id, e.id, 'Risk', (ARRAY['very_low', 'low', 'medium', 'high', 'very_high'])[e.i % 5 + 1],
       (ARRAY['low', 'medium', 'high', 'critical'])[e.i % 4 + 1], 1000, 'EUR'
FROM eng_map e WHERE e.i % 5 = 0;

SET session_replication_role = origin;
ANALYZE;
SELECT (SELECT count(*) FROM app.engagements) AS engagements, (SELECT count(*) FROM app.check_ins) AS check_ins,
       (SELECT count(*) FROM app.organisations) AS organisations;
