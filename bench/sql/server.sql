-- database_claim --
-- Hold the benchmark's database name for this session: a second run on the same server
-- and name would drop the first one's database under it.
SELECT pg_try_advisory_lock(hashtext('reeva bench database ' || %(dbname)s)) AS claimed;

-- database_create --
-- The benchmark's own database ({dbname}: an identifier, composed by psycopg.sql).
CREATE DATABASE {dbname};

-- database_drop --
-- Drop the benchmark's database, closing any connection a crashed run left open.
DROP DATABASE IF EXISTS {dbname} WITH (FORCE);

-- server_about --
-- The server's version, and the settings that bear on the figures (durability first).
SELECT 'postgres' AS name, current_setting('server_version') AS value
UNION ALL
SELECT 'postgres ' || name, current_setting(name)
FROM pg_settings
WHERE name IN ('synchronous_commit', 'fsync', 'wal_level', 'shared_buffers', 'max_connections',
               'autovacuum')
ORDER BY name;
