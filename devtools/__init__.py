"""Development tools that production never runs: the embedded Postgres and the local Graph API
sandbox."""
