"""The HTTP layer: thin Litestar controllers that translate requests to service calls."""
