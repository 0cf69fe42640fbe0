#!/usr/bin/env python3
"""A realistic spreadsheet export for the import benchmark: customers, services, templates, engagements (active,
with a template) and a year of monthly check-ins as one row per line (finance lines, KPI values, capacity).

    python3 generate.py DIRECTORY ENGAGEMENTS [MONTHS]

Writes parties.csv, services.csv, templates.csv, engagements.csv and checkins.csv; each engagement-month has 12
rows (6 finance lines, 2 KPI values, 4 capacity entries), so 700 engagements × 12 months = 100,800 check-in rows.
Deterministic (a fixed seed), so two runs import the same files.
"""
import csv
import json
import os
import random
import sys

directory, engagements = sys.argv[1], int(sys.argv[2])
months = int(sys.argv[3]) if len(sys.argv) > 3 else 12
random.seed(7)
os.makedirs(directory, exist_ok=True)
customers = max(1, engagements // 5)
services = ["MITS", "SEC", "CLOUD", "DESK", "NET"]


def write(name, header, rows):
    with open(os.path.join(directory, name), "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


write("parties.csv", ["name", "kind", "external_ref"],
      [[f"Customer {n}, Ltd", "customer", f"C-{n:05d}"] for n in range(customers)])
write("services.csv", ["code", "name"], [[code, f"Service {code}"] for code in services])
kpis = [{"name": "Availability", "unit": "%", "target": 99.5, "direction": "higher_is_better"},
        {"name": "Tickets", "unit": "count", "target": 100, "direction": "lower_is_better"}]
write("templates.csv", ["service_code", "name", "default_kpis", "checkin_cadence"],
      [[code, "Standard", json.dumps(kpis), "monthly"] for code in services])
write("engagements.csv", ["code", "name", "service_code", "customer_ref", "template", "status", "start_date", "end_date"],
      [[f"E-{n:05d}", f"Engagement {n}", services[n % len(services)], f"C-{n % customers:05d}", "Standard", "active",
        "2025-01-01", "2025-12-31"] for n in range(engagements)])

categories = ["revenue", "labour_cost", "licences", "third_party_cost", "expenses", "other_cost"]
roles = ["Engineer", "Architect", "Analyst", "Manager"]
rows = []
for n in range(engagements):
    for month in range(1, months + 1):
        period = f"2025-{month:02d}"
        base = ["E-%05d" % n, period]
        for category in categories:
            plan = random.randint(1000, 20000)
            rows.append(base + ["finance", category, "", plan, round(plan * random.uniform(0.8, 1.2), 2), "EUR",
                                "", "", "", "", "", ""])
        rows.append(base + ["kpi", "", "", "", round(random.uniform(98, 100), 2), "", "Availability", "", "", "", "", ""])
        rows.append(base + ["kpi", "", "", "", random.randint(50, 150), "", "Tickets", "", "", "", "", ""])
        for role in roles:
            rows.append(base + ["capacity", "", "", "", "", "", "", role, "", 160, random.randint(120, 180), ""])
write("checkins.csv", ["engagement_code", "period", "section", "category", "label", "plan", "actual", "currency", "kpi",
                       "role", "person", "planned_hours", "actual_hours", "notes"], rows)
print(len(rows))
