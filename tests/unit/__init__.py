"""Unit tests: one module each, no database; they run in seconds."""
