"""Intake: where customers give feedback. Validates, stores, and publishes it through the outbox."""
