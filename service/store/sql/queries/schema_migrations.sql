-- schema_migrations_lock --
-- Hold the migration lock until the transaction ends, so that concurrent `ingest migrate`
-- runs take turns; the key is any constant, this project's own.
SELECT pg_advisory_xact_lock(7263114001);

-- schema_migrations_create --
-- Create the table on the first run. `version` is set on the `procrastinate` row only: the
-- procrastinate version whose schema the database has.
CREATE TABLE IF NOT EXISTS schema_migrations (
    name text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now(),
    version text
);

-- schema_migrations_add_version --
-- Give a table created before procrastinate's version was recorded its `version` column;
-- only then, so that a run on a current table locks nothing.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute
                   WHERE attrelid = 'schema_migrations'::regclass AND attname = 'version'
                     AND NOT attisdropped) THEN
        ALTER TABLE schema_migrations ADD COLUMN version text;
    END IF;
END;
$$;

-- schema_migrations_list --
-- The migrations applied to this database (`ingest migrate` records each by name).
SELECT name, version FROM schema_migrations;

-- schema_migrations_insert --
-- Record a migration as applied (procrastinate's schema with its version).
INSERT INTO schema_migrations (name, version) VALUES (%(name)s, %(version)s);

-- schema_migrations_set_version --
-- Record the procrastinate version whose schema the database now has.
UPDATE schema_migrations SET version = %(version)s, applied_at = now() WHERE name = %(name)s;

-- schema_migrations_find_procrastinate --
-- Whether procrastinate's tables are there already, though not recorded here (a database
-- whose procrastinate schema was applied by other means).
SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS found;
