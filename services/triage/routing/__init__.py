"""Routing: which team and which member own a ticket; members' availability and load."""
