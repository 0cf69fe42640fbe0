import Foundation
import PostgresClient
import TenantAdministration

/// The statements that fill one organisation, in one transaction, through the same triggers as every write
/// (lifecycle rules, deliverers, template KPIs, hierarchy checks, and at commit each check-in's revision, health
/// score and rule evaluation). Deterministic for a seed: ids are md5 of (seed, kind, number) and every random
/// choice comes from `setseed` at the start of the organisation's transaction, in a fixed statement order.
///
/// In the SQL below $1 is the organisation id, $2 the seed text, $3 the number of engagements and $5 the months of
/// check-ins; they are transaction-local settings written by the first statement (so that no statement carries
/// parameters it does not use).
public enum SeedData {
    /// Creates organisation `index` of `seed` (a deterministic id, an admin user) and fills it, in one transaction
    /// for the data; returns its id and the rows the statements wrote (rows their triggers add not counted).
    /// Refuses an organisation that exists: the same seed is loaded once per database.
    public static func seedOrganisation(
        owner connection: PostgresConnection, seed: Int, index: Int, engagements: Int, depth: Int, months: Int
    ) throws -> (id: UUID, rows: Int) {
        let name = "Seed \(seed) organisation \(index)"
        guard try connection.query("SELECT count(*) FROM app.organisations WHERE name = $1", [name]).int(0, 0) == 0 else {
            throw SeedError.alreadySeeded(name)
        }
        let organisationID = try connection.query(
            "INSERT INTO app.organisations (id, name) VALUES (md5($1)::uuid, $2) RETURNING id", ["\(seed):organisation:\(index)", name]
        ).uuid(0, 0)!
        _ = try TenantAdministrator(owner: connection).createUser(
            organisationID: organisationID, email: "admin@seed\(seed)-org\(index).example", name: "Administrator", role: .admin)
        let results = try connection.pipeline(statements(
            organisation: organisationID, seed: "\(seed)", fraction: Double(index % 1000) / 1000,
            engagements: engagements, depth: depth, months: months))
        return (organisationID, results.reduce(0) { $0 + $1.affectedRows })
    }

    public enum SeedError: Error, CustomStringConvertible {
        case alreadySeeded(String)
        public var description: String {
            switch self {
            case .alreadySeeded(let name): "\(name) exists already: this seed was loaded before (choose another --seed)"
            }
        }
    }

    /// A deterministic uuid for (seed, kind, number); `number` is SQL.
    static func id(_ kind: String, _ number: String) -> String {
        "md5($2 || ':\(kind):' || $1::text || ':' || (\(number))::text)::uuid"
    }

    static func statements(organisation: UUID, seed: String, fraction: Double, engagements: Int, depth: Int, months: Int)
        -> [Statement]
    {
        // Accounts are trees of branching 3 and the given depth: block size (3^depth - 1) / 2.
        let block = (Int(pow(3.0, Double(depth))) - 1) / 2
        let sql = [
            """
            INSERT INTO app.services (organisation_id, id, code, name, description)
            SELECT $1, \(id("service", "s")), (ARRAY['MITS', 'SECOPS', 'CLOUD'])[s],
                   (ARRAY['Managed IT Support', 'Security Operations', 'Cloud Operations'])[s], 'Seeded service'
            FROM generate_series(1, 3) s
            """,
            """
            INSERT INTO app.parties (organisation_id, id, kind, name, external_ref)
            SELECT $1, \(id("customer", "c")), 'customer', 'Customer ' || c, 'C-' || c
            FROM generate_series(1, greatest(1, $3::int / 20)) c
            UNION ALL
            SELECT $1, \(id("partner", "p")), 'delivery_partner', 'Partner ' || p, 'P-' || p FROM generate_series(1, 2) p
            """,
            """
            INSERT INTO app.engagement_templates (organisation_id, id, service_id, name, default_kpis)
            SELECT $1, \(id("template", "s")), \(id("service", "s")), 'Standard',
                   '[{"name": "Availability", "unit": "%", "target": 99.9, "direction": "higher_is_better"},
                     {"name": "First response", "unit": "minutes", "target": 15, "direction": "lower_is_better"},
                     {"name": "Customer satisfaction", "unit": "score", "target": 8, "direction": "higher_is_better"}]'
            FROM generate_series(1, 3) s
            """,
            """
            INSERT INTO app.contracts (organisation_id, id, customer_party_id, reference, title, contract_type, total_value, currency, start_date, status)
            SELECT $1, \(id("contract", "c")), \(id("customer", "c")), 'K-' || c, 'Contract ' || c,
                   (ARRAY['fixed_fee', 'time_and_materials', 'retainer'])[c % 3 + 1], round((50000 + random() * 950000)::numeric, -3),
                   (ARRAY['EUR', 'EUR', 'GBP', 'USD'])[c % 4 + 1], date_trunc('month', now())::date - ($5::int || ' months')::interval, 'active'
            FROM generate_series(1, greatest(1, $3::int / 20)) c
            """,
            """
            INSERT INTO app.contract_rates (organisation_id, contract_id, rate_key, rate_per_hour)
            SELECT k.organisation_id, k.id, r.key, r.rate FROM app.contracts k,
                   (VALUES ('Engineer', 95.00), ('Analyst', 65.00)) r(key, rate)
            WHERE k.organisation_id = $1 AND k.contract_type = 'time_and_materials'
            """,
            """
            INSERT INTO app.risk_rules (organisation_id, name, condition, kpi, comparison, threshold, band, title, category, probability, impact)
            VALUES ($1, 'Unhappy customer', 'kpi', 'Customer satisfaction', '<=', 6, NULL, 'Customer satisfaction at or below 6', 'relationship', 'high', 'high'),
                   ($1, 'Health turned red', 'health_band', NULL, NULL, NULL, 'red', 'Engagement health is red', 'delivery', 'very_high', 'high')
            """,
            // Engagement n belongs to customer ((n - 1) / 20 + 1), service (n % 3 + 1); within its account block
            // position p has parent p = 0 ? none : (p - 1) / 3, so parents come first.
            """
            INSERT INTO app.engagements (organisation_id, id, service_id, customer_party_id, template_id, contract_id, code, name, start_date, end_date, parent_id)
            SELECT $1, \(id("engagement", "n")), \(id("service", "n % 3 + 1")), \(id("customer", "c")),
                   \(id("template", "n % 3 + 1")), \(id("contract", "c")), 'E' || lpad(n::text, 6, '0'), 'Engagement ' || n,
                   date_trunc('month', now())::date - ($5::int || ' months')::interval,
                   date_trunc('month', now())::date + interval '2 years',
                   CASE WHEN (n - 1) % \(block) <> 0 THEN \(id("engagement", "n - (n - 1) % \(block) + ((n - 1) % \(block) - 1) / 3")) END
            FROM generate_series(1, $3::int) n, LATERAL (SELECT least((n - 1) / 20 + 1, greatest(1, $3::int / 20)) AS c) x
            ORDER BY n
            """,
            "UPDATE app.engagements SET status = 'active' WHERE organisation_id = $1 AND right(code, 2)::int % 20 <> 7",
            """
            INSERT INTO app.check_ins (organisation_id, id, engagement_id, period, notes)
            SELECT e.organisation_id, md5($2 || ':checkin:' || e.id::text || ':' || m::text)::uuid, e.id,
                   (date_trunc('month', now()) - (m || ' months')::interval)::date, 'Seeded month'
            FROM app.engagements e, generate_series(1, $5::int) m
            WHERE e.organisation_id = $1 AND e.status = 'active'
            ORDER BY e.code, m
            """,
            """
            INSERT INTO app.finance_lines (organisation_id, check_in_id, line_no, engagement_id, category, label, plan, actual, currency)
            SELECT c.organisation_id, c.id, l.n, c.engagement_id, l.category, l.label, l.plan,
                   round((l.plan * (0.85 + random() * 0.35))::numeric, 2), k.currency
            FROM app.check_ins c
            JOIN app.engagements e ON e.organisation_id = c.organisation_id AND e.id = c.engagement_id
            JOIN app.contracts k ON k.organisation_id = e.organisation_id AND k.id = e.contract_id,
                 (VALUES (1, 'revenue', 'Monthly fee', 40000.00), (2, 'labour_cost', 'Delivery team', 26000.00),
                         (3, 'licences', 'Tooling', 3000.00)) l(n, category, label, plan)
            WHERE c.organisation_id = $1
            ORDER BY c.engagement_id, c.period, l.n
            """,
            """
            INSERT INTO app.kpi_values (organisation_id, check_in_id, kpi_id, engagement_id, actual)
            SELECT c.organisation_id, c.id, k.id, c.engagement_id,
                   round((CASE k.name WHEN 'Availability' THEN 98.5 + random() * 1.5
                                      WHEN 'First response' THEN 8 + random() * 20 ELSE 4 + random() * 6 END)::numeric, 2)
            FROM app.check_ins c
            JOIN app.engagement_kpis k ON k.organisation_id = c.organisation_id AND k.engagement_id = c.engagement_id
            WHERE c.organisation_id = $1
            ORDER BY c.engagement_id, c.period, k.name
            """,
            """
            INSERT INTO app.capacity_entries (organisation_id, check_in_id, line_no, engagement_id, role, planned_hours, actual_hours)
            SELECT c.organisation_id, c.id, r.n, c.engagement_id, r.role, r.hours, round((r.hours * (0.7 + random() * 0.5))::numeric, 2)
            FROM app.check_ins c, (VALUES (1, 'Engineer', 120.00), (2, 'Analyst', 60.00)) r(n, role, hours)
            WHERE c.organisation_id = $1
            ORDER BY c.engagement_id, c.period, r.n
            """,
            """
            INSERT INTO app.risk_signals (organisation_id, id, engagement_id, title, category, probability, impact, value_at_risk, currency)
            SELECT e.organisation_id, \(id("risk", "e.code")), e.id, 'Seeded risk ' || e.code,
                   (ARRAY['delivery', 'financial', 'resourcing'])[1 + floor(random() * 3)::int],
                   (ARRAY['very_low', 'low', 'medium', 'high', 'very_high'])[1 + floor(random() * 5)::int],
                   (ARRAY['low', 'medium', 'high', 'critical'])[1 + floor(random() * 4)::int],
                   round((random() * 50000)::numeric, -2), k.currency
            FROM app.engagements e JOIN app.contracts k ON k.organisation_id = e.organisation_id AND k.id = e.contract_id
            WHERE e.organisation_id = $1 AND right(e.code, 1)::int % 4 = 0
            ORDER BY e.code
            """,
            "UPDATE app.engagements SET status = 'on_hold' WHERE organisation_id = $1 AND status = 'active' AND right(code, 2)::int % 20 = 3",
            "UPDATE app.engagements SET status = 'completed' WHERE organisation_id = $1 AND status = 'active' AND right(code, 2)::int % 20 = 11",
        ]
        let settings: [(String, String)] = [
            ("$1", "current_setting('seed.organisation')::uuid"), ("$2", "current_setting('seed.seed')"),
            ("$3", "current_setting('seed.engagements')::int"), ("$5", "current_setting('seed.months')::int"),
        ]
        let configure = Statement(
            """
            SELECT setseed($1::float8), set_config('seed.organisation', $2, true), set_config('seed.seed', $3, true),
                   set_config('seed.engagements', $4, true), set_config('seed.months', $5, true),
                   set_config('app.transition_reason', 'seed', true), set_config('max_parallel_workers_per_gather', '0', true)
            """, [String(fraction), organisation.uuidString.lowercased(), seed, String(engagements), String(months)])
        return [configure] + sql.map { text in Statement(settings.reduce(text) { $0.replacingOccurrences(of: $1.0, with: $1.1) }) }
    }
}
