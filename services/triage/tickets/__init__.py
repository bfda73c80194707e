"""Tickets: the feedback triage sees, the tickets it opens and what people do to them."""
