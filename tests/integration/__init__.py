"""Integration tests: service code against a real Postgres."""
