"""Triage: every problem gets one owner and a 24-hour clock; the organisation learns why it happened."""
