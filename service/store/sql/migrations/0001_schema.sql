-- The ingestion schema: instagram_profiles, verification_tokens, messages and
-- outbound_messages, the users they point at, and the Phase 3 hand-off queue.
-- Forward-only: later changes are new files.

CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- Reeva users; instagram_profiles.connected_user_id points here.
CREATE TABLE profiles (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE instagram_profiles (
    ig_id text PRIMARY KEY CHECK (ig_id <> ''),
    username text,
    display_name text,
    profile_pic_url text,
    connected_user_id uuid REFERENCES profiles (id) ON DELETE SET NULL,
    connected_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX instagram_profiles_connected_user_id
    ON instagram_profiles (connected_user_id) WHERE connected_user_id IS NOT NULL;

CREATE TABLE messages (
    id text PRIMARY KEY CHECK (id <> ''),          -- Instagram's mid
    sender_ig_id text NOT NULL CHECK (sender_ig_id <> ''),
    recipient_ig_id text NOT NULL CHECK (recipient_ig_id <> ''),
    message_text text,
    attachments jsonb,
    reply_to jsonb,
    quick_reply jsonb,
    is_echo boolean NOT NULL DEFAULT false,
    "timestamp" timestamptz NOT NULL,
    processed boolean NOT NULL DEFAULT false,      -- true once handed to Phase 3
    handled_at timestamptz,                        -- set when process_message finished
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_unhandled ON messages (created_at) WHERE handled_at IS NULL;
CREATE INDEX messages_sender_timestamp ON messages (sender_ig_id, "timestamp" DESC);

CREATE TABLE verification_tokens (
    token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),  -- SHA-256 hex
    ig_id text NOT NULL REFERENCES instagram_profiles (ig_id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    consumed boolean NOT NULL DEFAULT false,
    created_by_event_id text,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- One token per event: a retried send replaces its own token instead of adding one.
CREATE UNIQUE INDEX verification_tokens_event
    ON verification_tokens (created_by_event_id) WHERE created_by_event_id IS NOT NULL;
CREATE INDEX verification_tokens_ig_id ON verification_tokens (ig_id, created_at DESC);

CREATE TABLE outbound_messages (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    recipient_ig_id text NOT NULL CHECK (recipient_ig_id <> ''),
    kind text NOT NULL CHECK (kind IN ('verification', 'acknowledgement', 'custom')),
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    remote_message_id text,
    error text,
    message_id text REFERENCES messages (id),     -- the event that caused it, if any
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- One DM of each kind per event: processing a message twice sends nothing twice.
CREATE UNIQUE INDEX outbound_messages_message_kind
    ON outbound_messages (message_id, kind) WHERE message_id IS NOT NULL;
CREATE INDEX outbound_messages_recipient_kind
    ON outbound_messages (recipient_ig_id, kind, created_at DESC);
CREATE INDEX outbound_messages_status_created ON outbound_messages (status, created_at);

-- The hand-off to Phase 3: claimed with FOR UPDATE SKIP LOCKED; a claim is a lease
-- that ends at available_at, after which the row can be claimed again.
CREATE TABLE phase3_queue (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id text NOT NULL UNIQUE REFERENCES messages (id),
    ig_id text NOT NULL,
    connected_user_id uuid NOT NULL,
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'claimed', 'done', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    available_at timestamptz NOT NULL DEFAULT now(),
    claimed_at timestamptz,
    claimed_by text,
    last_error text,
    completed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX phase3_queue_claimable
    ON phase3_queue (available_at, id) WHERE status IN ('queued', 'claimed');
CREATE INDEX phase3_queue_completed ON phase3_queue (completed_at) WHERE status = 'done';

CREATE FUNCTION phase3_queue_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('phase3_queue', NEW.id::text);
    RETURN NEW;
END;
$$;
CREATE TRIGGER phase3_queue_notify AFTER INSERT ON phase3_queue
    FOR EACH ROW EXECUTE FUNCTION phase3_queue_notify();

CREATE TRIGGER profiles_updated_at BEFORE UPDATE ON profiles
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER instagram_profiles_updated_at BEFORE UPDATE ON instagram_profiles
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER messages_updated_at BEFORE UPDATE ON messages
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER outbound_messages_updated_at BEFORE UPDATE ON outbound_messages
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER phase3_queue_updated_at BEFORE UPDATE ON phase3_queue
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Row-level security on every app table: the service connects as the
-- tables' owner, which RLS does not restrict; any other role reads nothing unless a
-- policy grants it. Where a `service_role` exists (Supabase), it may write.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['profiles', 'instagram_profiles', 'messages',
                             'verification_tokens', 'outbound_messages', 'phase3_queue']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
            EXECUTE format(
                'CREATE POLICY service_role_all ON %I FOR ALL TO service_role '
                'USING (true) WITH CHECK (true)', t);
        END IF;
    END LOOP;
END;
$$;
