-- schema_migrations_lock --
-- Hold the migration lock until the transaction ends, so that concurrent `ingest migrate`
-- runs take turns; the key is any constant, this project's own.
SELECT pg_advisory_xact_lock(7263114001);

-- schema_migrations_create --
-- Create the table on the first run.
CREATE TABLE IF NOT EXISTS schema_migrations (
    name text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- schema_migrations_list --
-- The migrations applied to this database (`ingest migrate` records each by name).
SELECT name FROM schema_migrations;

-- schema_migrations_insert --
-- Record a migration as applied.
INSERT INTO schema_migrations (name) VALUES (%(name)s);

-- schema_migrations_find_procrastinate --
-- Whether procrastinate's tables are there already, though not recorded here (a database
-- whose procrastinate schema was applied by other means).
SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS found;
