"""Meta's Instagram webhook: proving deliveries are Meta's, storing them as received,
reading them into events, forwarding messages to the ingest endpoint, and retention."""
