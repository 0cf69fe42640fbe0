-- reporting.engagements joins the contract in (reference and title), like the service and the customer.
-- CREATE OR REPLACE VIEW may only add columns at the end, which is where they go.
CREATE OR REPLACE VIEW reporting.engagements WITH (security_barrier) AS
SELECT e.id, e.code, e.name, e.status, e.status_changed_at,
       e.service_id, s.code AS service_code, s.name AS service_name,
       e.customer_party_id, c.name AS customer_name,
       e.template_id, t.name AS template_name, e.contract_id,
       e.start_date, e.end_date, e.owner_user_id, u.email AS owner_email,
       e.version, e.created_at, e.updated_at,
       k.reference AS contract_reference, k.title AS contract_title
FROM app.engagements e
JOIN app.services s ON s.organisation_id = e.organisation_id AND s.id = e.service_id
JOIN app.parties c ON c.organisation_id = e.organisation_id AND c.id = e.customer_party_id
LEFT JOIN app.engagement_templates t ON t.organisation_id = e.organisation_id AND t.id = e.template_id
LEFT JOIN app.users u ON u.organisation_id = e.organisation_id AND u.id = e.owner_user_id
LEFT JOIN app.contracts k ON k.organisation_id = e.organisation_id AND k.id = e.contract_id
WHERE e.organisation_id = (SELECT app.current_organisation_id());
