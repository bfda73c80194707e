"""Why a change to a ticket was refused; the web layer turns each into its HTTP answer."""

from __future__ import annotations


class TicketConflict(Exception):
    """The change does not fit the ticket's current state (HTTP 409)."""


class InvalidChange(Exception):
    """Fields of the requested change are invalid (HTTP 422); ``errors`` maps each field to why."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NotAllowed(Exception):
    """The caller's role does not allow this change (HTTP 403)."""
