"""The store: the only modules that run SQL, each for one table, returning frozen rows."""
