"""Operating the service: status and health checks, re-queueing DMs, replaying messages."""
