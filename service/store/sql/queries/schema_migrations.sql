-- schema_migrations_list --
-- The migrations applied to this database (`ingest migrate` records each by name).
SELECT name FROM schema_migrations;
