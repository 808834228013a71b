"""The composition root: the `ingest` command line and `ingest dev`, which wire the service and
the workers together."""
