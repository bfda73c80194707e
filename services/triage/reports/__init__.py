"""Reports: leadership's SLA summary, its aggregate tables, the dashboard page, charts and metrics."""
