"""Shared test helpers: the database server, the stack of processes, seeds and payloads."""
