@testable import EngagementReport
import JSONRPC
import Testing

/// The page without a server: every section and chart from a report.engagement answer, text escaped, nothing
/// loaded from anywhere.
@Suite("Engagement report page")
struct EngagementReportPageTests {
    static let answer = """
        {"engagement": {"code": "KEY-ACCOUNT", "name": "Key account <script>alert(1)</script>", "status": "active",
                        "customer": {"name": "Acme & Sons"}, "service": {"name": "Managed IT"}, "start_date": "2025-01-01", "end_date": null},
         "from": "2025-01", "to": "2025-03", "generated_at": "2025-04-01T00:00:00Z", "subtree_size": 3,
         "health": {"score": 72.5, "band": "green", "model": {"name": "Default", "red_below": 40, "amber_below": 70},
                    "metrics": [{"metric": "kpi_attainment", "kpi": "Availability", "normalised": 80, "weight": 0.5}],
                    "trend": [{"period": "2025-01", "score": 65, "band": "amber"}, {"period": "2025-02", "score": null, "band": null},
                              {"period": "2025-03", "score": 72.5, "band": "green"}]},
         "risks": [{"id": "00000000-0000-0000-0000-000000000001", "engagement_code": "KEY-MITS", "title": "Churn \\"risk\\"",
                    "probability": "high", "impact": "critical", "severity": "critical", "status": "open"}],
         "risk_grid": [{"probability": "low", "impact": "low", "severity": "low", "count": 0},
                       {"probability": "high", "impact": "critical", "severity": "critical", "count": 1}],
         "months": [{"period": "2025-01", "money": [{"currency": "EUR", "revenue_plan": 1000.50, "revenue_actual": 900, "cost_plan": 500, "cost_actual": null}],
                     "planned_hours": 160, "actual_hours": 150},
                    {"period": "2025-02", "money": [], "planned_hours": null, "actual_hours": null},
                    {"period": "2025-03", "money": [{"currency": "USD", "revenue_plan": 10, "revenue_actual": 10, "cost_plan": null, "cost_actual": null}],
                     "planned_hours": 100, "actual_hours": 120}],
         "children": [{"id": "00000000-0000-0000-0000-000000000002", "code": "KEY-MITS", "name": "MITS", "status": "active", "score": 55, "band": "amber"}],
         "objectives": [{"id": "00000000-0000-0000-0000-000000000003", "title": "Cut tickets", "status": "on_track", "target_date": "2025-06-30"}],
         "initiatives_by_stage": {"planned": 2, "in_progress": 1, "done": 0, "cancelled": 0},
         "commitments": {"delivered": false, "by_status": {"lapsed": 1, "fulfilled": 3}},
         "sla_credits": [{"currency": "EUR", "credits": 250.00, "breaches": 2}]}
        """

    @Test("every section and chart, each mark carrying the API's value; text escaped; self-contained")
    func page() throws {
        let html = EngagementReportPage.render(try JSONParser.parse(Self.answer))
        for id in ["health-score", "health-trend", "health-metrics", "risk-heatmap", "risk-list", "plan-vs-actual", "capacity",
                   "children", "objectives", "initiatives", "commitments", "commitments-by-status", "sla-credits"] {
            #expect(html.contains("id=\"\(id)\""), "\(id)")
        }
        #expect(!html.contains("<script"), "a name cannot inject markup")
        #expect(html.contains("Key account &lt;script&gt;alert(1)&lt;/script&gt;") && html.contains("Acme &amp; Sons"))
        #expect(html.contains("Churn &quot;risk&quot;"))
        for external in ["http://", "https://", "src=", "<link", "@import", "url("] {
            #expect(!html.contains(external), "\(external): nothing is loaded from elsewhere")
        }
        // Values as the API wrote them.
        #expect(html.contains(#"data-period="2025-03" data-value="72.5" data-band="green""#))
        #expect(html.contains(#"data-series="revenue" data-kind="plan" data-period="2025-01" data-value="1000.50""#))
        #expect(html.contains(#"data-probability="high" data-impact="critical" data-severity="critical" data-value="1""#))
        #expect(html.contains(#"data-currency="EUR" data-value="250.00""#))
        #expect(html.contains("Also in USD"), "the other currency is named")
        // A month without a score has no point; both scored months have one.
        #expect(html.split(separator: "class=\"point\"", omittingEmptySubsequences: false).count - 1 == 2)
    }

    @Test("an engagement with nothing yet: every section says so instead of drawing nothing")
    func empty() throws {
        let html = EngagementReportPage.render(try JSONParser.parse("""
            {"engagement": {"code": "NEW", "name": "New"}, "health": {"score": null, "band": "unknown", "model": {"name": "Default"},
             "metrics": [], "trend": []}, "risks": [], "risk_grid": [], "months": [], "children": [], "objectives": [],
             "initiatives_by_stage": {}, "commitments": {"delivered": true, "by_status": {}}, "sla_credits": []}
            """))
        for text in ["No metric has data yet.", "No open risk.", "No finance lines in this range.", "No child engagements.",
                     "No objectives.", "No SLA credits in this range.", "no commitments"] {
            #expect(html.contains(text), "\(text)")
        }
    }
}
