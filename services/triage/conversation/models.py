"""The conversation's tables."""
