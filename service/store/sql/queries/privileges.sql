-- privileges_lock_out_exposed_roles --
-- Where Supabase's roles exist, take from them (and from PUBLIC) every privilege on what is
-- ours, and enable row-level security on our tables. PostgREST exposes the schema to `anon`
-- and `authenticated`, and Supabase's default privileges grant them each new table, sequence
-- and function, procrastinate's included: without this, the anon key reads job arguments,
-- deletes queued jobs or empties `schema_migrations`. The owner (the role `ingest migrate`
-- and the service connect as) keeps its rights; other roles, `service_role` among them, keep
-- theirs. Ours is procrastinate's (`procrastinate_*`), the ledger, and what the migrations
-- create, named below: a migration that creates a table or a function adds its name here
-- (tests/integration/test_supabase_roles.py fails otherwise). Other objects of the schema
-- (another app's) are left alone. Runs on every `ingest migrate`, so databases migrated
-- earlier are fixed too; it changes only what needs it (no lock on a table already done),
-- and without the roles (plain Postgres) it does nothing.
DO $$
DECLARE
    app_tables text[] := ARRAY['schema_migrations', 'profiles', 'instagram_profiles',
        'messages', 'verification_tokens', 'outbound_messages', 'phase3_queue',
        'webhook_deliveries', 'graph_rate_limits', 'message_edits', 'graph_access_tokens',
        'webhook_subscription_checks', 'idempotency_keys', 'graph_send_buckets',
        'graph_access_token_seeds', 'instagram_accounts', 'reconcile_runs'];
    app_functions text[] := ARRAY['set_updated_at_v1', 'phase3_queue_notify_v1',
        'messaging_window_closed_v1', 'ingest_messages_v1', 'messages_lock_mids_v1',
        'ingest_messages_applying_edits_v1', 'webhook_item_without_message_v1',
        'webhook_body_without_message_v1', 'webhook_deliveries_forget_message_v1',
        'phase3_claim_v1', 'phase3_extend_v1', 'phase3_complete_v1', 'phase3_fail_v1',
        'jobs_fetch_more_v1', 'jobs_fetch_more_v2'];
    exposed oid[];
    grantees text;
    obj record;
BEGIN
    SELECT array_agg(oid) INTO exposed FROM pg_roles WHERE rolname IN ('anon', 'authenticated');
    IF exposed IS NULL THEN
        RETURN;
    END IF;
    exposed := exposed || 0::oid;  -- PUBLIC
    SELECT 'PUBLIC, ' || string_agg(quote_ident(rolname), ', ') INTO grantees
        FROM pg_roles WHERE oid = ANY(exposed);

    -- Tables, views and sequences: ours by name, sequences by the table they belong to.
    FOR obj IN
        SELECT c.oid, c.relkind, c.relrowsecurity, c.relacl,
               acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char", c.relowner) AS dflt
        FROM pg_class c
        WHERE c.relnamespace = current_schema()::regnamespace
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
          AND (c.relname LIKE 'procrastinate\_%' OR c.relname = ANY(app_tables)
               OR EXISTS (SELECT 1 FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
                          WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                            AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                            AND (t.relname LIKE 'procrastinate\_%'
                                 OR t.relname = ANY(app_tables))))
    LOOP
        IF EXISTS (SELECT 1 FROM aclexplode(coalesce(obj.relacl, obj.dflt)) a
                   WHERE a.grantee = ANY(exposed)) THEN
            EXECUTE format('REVOKE ALL ON %s %s FROM %s',
                CASE WHEN obj.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                obj.oid::regclass, grantees);
        END IF;
        IF obj.relkind IN ('r', 'p') AND NOT obj.relrowsecurity THEN
            EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', obj.oid::regclass);
        END IF;
    END LOOP;

    -- Functions and procedures (PUBLIC may execute a new one unless told otherwise).
    FOR obj IN
        SELECT p.oid FROM pg_proc p
        WHERE p.pronamespace = current_schema()::regnamespace
          AND (p.proname LIKE 'procrastinate\_%' OR p.proname = ANY(app_functions))
          AND EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f'::"char", p.proowner))) a
                      WHERE a.grantee = ANY(exposed))
    LOOP
        EXECUTE format('REVOKE ALL ON ROUTINE %s FROM %s', obj.oid::regprocedure, grantees);
    END LOOP;

    -- procrastinate's enum and composite types (PUBLIC may use a new one).
    FOR obj IN
        SELECT t.oid FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid
        WHERE t.typnamespace = current_schema()::regnamespace
          AND t.typname LIKE 'procrastinate\_%'
          AND (t.typtype IN ('e', 'd') OR c.relkind = 'c')
          AND EXISTS (SELECT 1 FROM aclexplode(coalesce(t.typacl, acldefault('T'::"char", t.typowner))) a
                      WHERE a.grantee = ANY(exposed))
    LOOP
        EXECUTE format('REVOKE ALL ON TYPE %s FROM %s', obj.oid::regtype, grantees);
    END LOOP;
END;
$$;
