"""The conversation on a ticket: the customer's messages, replies and internal notes."""
