"""Closeloop's three services: intake, triage and notify."""
