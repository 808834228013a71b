"""Linking Instagram accounts to Reeva users."""
