"""Reeva's Instagram messaging ingestion service."""
