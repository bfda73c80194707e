"""Notify: share praise and complaints with everyone, and close the loop with the customer."""
