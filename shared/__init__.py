"""Code that two or more Closeloop services use: events, Kafka plumbing, config, logs, metrics, db."""
