"""The SLA clock: due times, business calendars, and the sweep that warns, breaches and escalates."""
