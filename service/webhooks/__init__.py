"""Meta webhook deliveries: turning a decoded Instagram delivery into events to ingest."""
