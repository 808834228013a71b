"""The message flow: an inbound event stored with its job, then decided."""
