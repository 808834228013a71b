-- The current source of every function of ours in the schema, one place to read them.
-- The migrations remain the only source of the schema: this file is what they produce, and
-- tests/integration/test_schema_functions.py fails when the two differ, so a migration that
-- changes a function changes it here too. A function's name carries its version (`_v1`),
-- as procrastinate names its own: a change that callers must follow is a new function
-- beside the old (`_v2`), which a later migration drops once nothing calls it, so processes
-- of both versions run during an upgrade. The product's rules are not here: they are in
-- Python (service/messages/decision.py); these are a trigger's chores, one shared predicate,
-- the ingest's queue primitive, and the Phase 3 contract, the API that consumers in any
-- language call (docs/phase3.md).

-- Every table's `updated_at`, on each update (migration 0001).
CREATE OR REPLACE FUNCTION set_updated_at_v1() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- A NOTIFY for each new Phase 3 row, which consumers listen for (migration 0001).
CREATE OR REPLACE FUNCTION phase3_queue_notify_v1() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('phase3_queue', NEW.id::text);
    RETURN NEW;
END;
$$;

-- The one rule for a closed window, which the send, `ingest retry-failed` and the status
-- report share: we last heard from `recipient` longer than `window_length` ago. A recipient
-- never heard from is not refused (Meta decides), nor is a DM that answers a message
-- (`answers`) that reached us within the window, whatever time its sender wrote in it; a
-- reconciled message reached us when it was sent, its `timestamp` (migrations 0014, 0033).
CREATE OR REPLACE FUNCTION messaging_window_closed_v1(
    recipient text, answers text, window_length interval)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM instagram_profiles
        WHERE ig_id = recipient AND last_inbound_at < now() - window_length
    ) AND NOT EXISTS (
        SELECT 1 FROM messages
        WHERE id = answers
          AND CASE WHEN source = 'reconciled' THEN "timestamp" ELSE created_at END
              >= now() - window_length
    )
$$;

-- Accept inbound messages in one statement, for one message or a batch: each stored unless
-- its mid is known, its sender's messaging window noted (not for an echo, our own DM,
-- and for a known mid too, as before), and a job deferred for each new message, all or
-- nothing in one round trip. `events` is a JSON array of the messages as
-- `service.messages.inbound.InboundEvent` encodes them; a mid repeated in it counts once,
-- at its first place. Returns the new mids in the events' order (NULL when none).
--
-- The jobs are deferred through procrastinate's own function (its NOTIFY included), here
-- and nowhere else in our SQL, so an upgrade of procrastinate that changes it changes this
-- function only. Messages are inserted in mid order and profiles in ig_id order, so two
-- batches that share some never wait on each other in a cycle.
-- (Migration 0019; `shared_items` since 0035.)
CREATE OR REPLACE FUNCTION ingest_messages_v1(events jsonb, queue_name text, task_name text)
RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    new_mids text[];
BEGIN
    WITH incoming AS (
        SELECT e.*, t.position
        FROM jsonb_array_elements(events) WITH ORDINALITY AS t(event, position),
             jsonb_to_record(t.event) AS e(
                 mid text, sender_ig_id text, recipient_ig_id text, message_text text,
                 attachments jsonb, reply_to jsonb, quick_reply jsonb, is_echo boolean,
                 source text, postback_payload text, "timestamp" timestamptz,
                 shared_items jsonb)
    ), firsts AS (
        SELECT DISTINCT ON (mid) * FROM incoming ORDER BY mid, position
    ), inserted AS (
        INSERT INTO messages (id, sender_ig_id, recipient_ig_id, message_text, attachments,
                              reply_to, quick_reply, is_echo, source, postback_payload,
                              "timestamp", shared_items)
        SELECT mid, sender_ig_id, recipient_ig_id, message_text, nullif(attachments, 'null'),
               nullif(reply_to, 'null'), nullif(quick_reply, 'null'), is_echo, source,
               postback_payload, "timestamp", coalesce(shared_items, '[]')
        FROM firsts
        ORDER BY mid
        ON CONFLICT (id) DO NOTHING
        RETURNING id
    )
    SELECT array_agg(inserted.id ORDER BY firsts.position) INTO new_mids
    FROM inserted JOIN firsts ON firsts.mid = inserted.id;

    -- As instagram_profiles_record_inbound: the later of what is known and the latest
    -- event, a time ahead of ours counting as now.
    INSERT INTO instagram_profiles (ig_id, last_inbound_at)
    SELECT e.sender_ig_id, least(max(e."timestamp"), now())
    FROM jsonb_to_recordset(events) AS e(sender_ig_id text, is_echo boolean,
                                         "timestamp" timestamptz)
    WHERE NOT e.is_echo
    GROUP BY e.sender_ig_id
    ORDER BY e.sender_ig_id
    ON CONFLICT (ig_id) DO UPDATE
    SET last_inbound_at = greatest(instagram_profiles.last_inbound_at,
                                   EXCLUDED.last_inbound_at);

    IF new_mids IS NOT NULL THEN
        PERFORM procrastinate_defer_jobs_v1(ARRAY(
            SELECT ROW(queue_name, task_name, 0, NULL, NULL, jsonb_build_object('mid', n.mid),
                       NULL)::procrastinate_job_to_defer_v1
            FROM unnest(new_mids) WITH ORDINALITY AS n(mid, position)
            ORDER BY n.position));
    END IF;
    RETURN new_mids;
END;
$$;

-- One messaging item (`messaging`, `standby`, or the `value` of a `changes` item) without
-- the content of message `mid`; any other item as it is.
-- (migration 0027)
CREATE OR REPLACE FUNCTION webhook_item_without_message_v1(item jsonb, mid text)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF item -> 'message' ->> 'mid' = mid THEN
        RETURN jsonb_set(item, '{message}',
                         (item -> 'message') - ARRAY['text', 'attachments', 'quick_reply']);
    ELSIF item -> 'message_edit' ->> 'mid' = mid THEN
        RETURN jsonb_set(item, '{message_edit}', (item -> 'message_edit') - 'text');
    ELSIF jsonb_typeof(item -> 'value') = 'object' THEN
        RETURN jsonb_set(item, '{value}', webhook_item_without_message_v1(item -> 'value', mid));
    END IF;
    RETURN item;
END;
$$;

-- A delivery's body without the content of message `mid`, its shape otherwise unchanged.
-- (migration 0027)
CREATE OR REPLACE FUNCTION webhook_body_without_message_v1(body jsonb, mid text)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    entries jsonb := '[]';
    entry jsonb;
    list text;
BEGIN
    IF jsonb_typeof(body -> 'entry') IS DISTINCT FROM 'array' THEN
        RETURN body;
    END IF;
    FOR entry IN SELECT e FROM jsonb_array_elements(body -> 'entry') WITH ORDINALITY AS t(e, n)
                 ORDER BY n LOOP
        FOREACH list IN ARRAY ARRAY['messaging', 'standby', 'changes'] LOOP
            IF jsonb_typeof(entry -> list) = 'array' THEN
                entry := jsonb_set(entry, ARRAY[list], (
                    SELECT coalesce(jsonb_agg(webhook_item_without_message_v1(i, mid) ORDER BY n),
                                    '[]')
                    FROM jsonb_array_elements(entry -> list) WITH ORDINALITY AS t(i, n)));
            END IF;
        END LOOP;
        entries := entries || jsonb_build_array(entry);
    END LOOP;
    RETURN jsonb_set(body, '{entry}', entries);
END;
$$;

-- Clear message `mid`'s content from every stored delivery that carried it, as a message or
-- an edit, in `messaging`, `standby` or `changes`: each shape a containment the body's index
-- (migration 0016) answers.
-- (migration 0027)
CREATE OR REPLACE FUNCTION webhook_deliveries_forget_message_v1(mid text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    wanted jsonb;
    list text;
BEGIN
    FOREACH wanted IN ARRAY ARRAY[jsonb_build_object('message', jsonb_build_object('mid', mid)),
                                  jsonb_build_object('message_edit', jsonb_build_object('mid', mid))]
    LOOP
        FOREACH list IN ARRAY ARRAY['messaging', 'standby', 'changes'] LOOP
            UPDATE webhook_deliveries
            SET body = webhook_body_without_message_v1(body, mid)
            WHERE body @> jsonb_build_object('entry', jsonb_build_array(jsonb_build_object(
                      list, jsonb_build_array(CASE WHEN list = 'changes'
                                                   THEN jsonb_build_object('value', wanted)
                                                   ELSE wanted END))))
              AND webhook_body_without_message_v1(body, mid) <> body;
        END LOOP;
    END LOOP;
END;
$$;

-- Edits that arrive before their message (Meta does not order its deliveries) wait in
-- `message_edits`; when the message is stored, it takes the text of the one with the highest
-- `num_edit`, as if they had come after it, so Phase 3 never gets the text from before an
-- edit. An edit of a message unsent first never waits here: the unsend's row stores the
-- message deleted, not new.
--
-- A message being stored, an edit and an unsend of the same mid may commit at the same time,
-- each unable to see what the other has not committed yet: the message would miss its edit,
-- or an edit would keep its text after the unsend cleared the others. So each takes a lock
-- on its mid first, held to its commit: messages shared (they never wait on each other),
-- edits and unsends exclusive. Mids are hashed into 256 locks, which bounds the locks a
-- batch of 1,000 holds; two mids that share one only wait on each other briefly. Every
-- transaction takes all of its locks in lock order before anything else, so they cannot
-- deadlock. The two-key form keeps them apart from the one-key locks of `ingest migrate`.
-- (migration 0028)
CREATE OR REPLACE FUNCTION messages_lock_mids_v1(shared_mids text[], exclusive_mids text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lock record;
BEGIN
    FOR lock IN
        SELECT hashtext(mid) & 255 AS key, bool_or(exclusive) AS exclusive
        FROM (SELECT unnest(shared_mids), false
              UNION ALL SELECT unnest(exclusive_mids), true) AS m(mid, exclusive)
        GROUP BY 1
        ORDER BY 1
    LOOP
        IF lock.exclusive THEN
            PERFORM pg_advisory_xact_lock(72631140, lock.key);
        ELSE
            PERFORM pg_advisory_xact_lock_shared(72631140, lock.key);
        END IF;
    END LOOP;
END;
$$;

-- `ingest_messages_v1` (migration 0019, versioned by 0025), its mids locked first, its new
-- messages given the edits that waited for them, and a message that arrives after its unsend
-- cleared from its delivery (migration 0027); the same arguments and answer, the new mids.
-- (migration 0028; since 0040 each rare read runs only when it can find something)
CREATE OR REPLACE FUNCTION ingest_messages_applying_edits_v1(events jsonb, queue_name text, task_name text)
RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    mids text[] := ARRAY(SELECT e ->> 'mid' FROM jsonb_array_elements(events) AS e);
    new_mids text[];
BEGIN
    PERFORM messages_lock_mids_v1(mids, '{}');
    new_mids := ingest_messages_v1(events, queue_name, task_name);
    -- Most deliveries find no edit waiting for their messages.
    IF EXISTS (SELECT 1 FROM message_edits WHERE message_id = ANY (new_mids)) THEN
        WITH latest AS (
            SELECT DISTINCT ON (message_id) id, message_id, num_edit, message_text, edited_at
            FROM message_edits
            WHERE message_id = ANY (new_mids)
            ORDER BY message_id, num_edit DESC
        ), edited AS (
            -- As `messages_edit`: only an edit counted higher than what the message has.
            UPDATE messages m
            SET message_text = latest.message_text, edited_at = latest.edited_at,
                edit_count = latest.num_edit
            FROM latest
            WHERE m.id = latest.message_id AND m.edit_count < latest.num_edit
                  AND m.deleted_at IS NULL
            RETURNING latest.id
        )
        UPDATE message_edits SET applied = true FROM edited WHERE message_edits.id = edited.id;
    END IF;
    -- A message unsent before it came: its delivery, stored already, keeps no text of it.
    -- Only a mid stored before this delivery can be one.
    IF cardinality(mids) > coalesce(cardinality(new_mids), 0) THEN
        PERFORM webhook_deliveries_forget_message_v1(m.id)
        FROM messages m
        WHERE m.id = ANY (mids)
          AND m.deleted_at IS NOT NULL AND m.id <> ALL (coalesce(new_mids, '{}'));
    END IF;
    RETURN new_mids;
END;
$$;

-- The Phase 3 contract (docs/phase3.md): the API that consumers in any language call.

-- Claim up to `max_rows` claimable rows for `consumer`: each gets a fresh `claim_token`, a
-- lease of `lease_seconds` and one more attempt. Rows are taken in the order they became
-- claimable (`available_at`, then `id`), each locked FOR UPDATE SKIP LOCKED, so concurrent
-- claims never wait on each other nor share a row. Rows whose `max_attempts` claims all
-- ended without an outcome become `failed` instead, their `last_error` kept or else
-- 'claimed N times without being completed', and are not returned.
-- (Migration 0036.)
CREATE OR REPLACE FUNCTION phase3_claim_v1(
    consumer text, max_rows integer, lease_seconds double precision, max_attempts integer)
RETURNS TABLE (
    id bigint, kind text, message_id text, ig_id text, connected_user_id uuid,
    attempts integer, claim_token uuid, lease_expires_at timestamptz,
    recipient_ig_id text, message_text text, attachments jsonb, shared_items jsonb,
    reply_to jsonb, "timestamp" timestamptz, edited_at timestamptz, deleted_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    IF consumer IS NULL OR consumer = '' THEN
        RAISE EXCEPTION 'consumer must name the consumer' USING ERRCODE = '22023';
    ELSIF max_rows IS NULL OR max_rows < 1 THEN
        RAISE EXCEPTION 'max_rows must be at least 1' USING ERRCODE = '22023';
    ELSIF lease_seconds IS NULL OR NOT lease_seconds > 0
          OR lease_seconds IN ('Infinity', 'NaN') THEN
        RAISE EXCEPTION 'lease_seconds must be a positive number of seconds'
            USING ERRCODE = '22023';
    ELSIF max_attempts IS NULL OR max_attempts < 1 THEN
        RAISE EXCEPTION 'max_attempts must be at least 1' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    WITH exhausted AS (
        UPDATE phase3_queue q
        SET status = 'failed',
            claimed_by = NULL,
            claim_token = NULL,
            last_error = coalesce(q.last_error,
                                  'claimed ' || q.attempts || ' times without being completed')
        FROM (
            -- `attempts > 0` lets the planner use the small index of retried rows.
            SELECT r.id
            FROM phase3_queue r
            WHERE r.status IN ('queued', 'claimed') AND r.attempts > 0
              AND r.attempts >= max_attempts AND r.available_at <= now()
            FOR UPDATE SKIP LOCKED
        ) e
        WHERE q.id = e.id
    ), picked AS (
        SELECT r.id, r.available_at
        FROM phase3_queue r
        WHERE r.status IN ('queued', 'claimed') AND r.available_at <= now()
          AND r.attempts < max_attempts
        ORDER BY r.available_at, r.id
        LIMIT max_rows
        FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE phase3_queue q
        SET status = 'claimed',
            attempts = q.attempts + 1,
            claimed_at = now(),
            claimed_by = consumer,
            claim_token = gen_random_uuid(),
            available_at = now() + make_interval(secs => lease_seconds)
        FROM picked
        WHERE q.id = picked.id
        RETURNING q.id, q.kind, q.message_id, q.ig_id, q.connected_user_id, q.attempts,
                  q.claim_token, q.available_at, picked.available_at AS was_available_at
    )
    SELECT c.id, c.kind, c.message_id, c.ig_id, c.connected_user_id, c.attempts,
           c.claim_token, c.available_at, m.recipient_ig_id, m.message_text, m.attachments,
           m.shared_items, m.reply_to, m."timestamp", m.edited_at, m.deleted_at
    FROM claimed c JOIN messages m ON m.id = c.message_id
    ORDER BY c.was_available_at, c.id;
END;
$$;

-- Renew a claim's lease to `lease_seconds` from now. True when it took effect; false, and
-- nothing changed, when the row no longer holds `token` (another claim took it, it was
-- completed, failed or withdrawn) or `item_id` is unknown.
-- (Migration 0036.)
CREATE OR REPLACE FUNCTION phase3_extend_v1(item_id bigint, token uuid, lease_seconds double precision)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF lease_seconds IS NULL OR NOT lease_seconds > 0
       OR lease_seconds IN ('Infinity', 'NaN') THEN
        RAISE EXCEPTION 'lease_seconds must be a positive number of seconds'
            USING ERRCODE = '22023';
    END IF;
    UPDATE phase3_queue
    SET available_at = now() + make_interval(secs => lease_seconds)
    WHERE id = item_id AND status = 'claimed' AND claim_token = token;
    RETURN FOUND;
END;
$$;

-- Mark a claimed row `done`, with `completed_at` (from which retention counts). True when
-- it took effect; false, and nothing changed, when the row no longer holds `token`.
-- (Migration 0036.)
CREATE OR REPLACE FUNCTION phase3_complete_v1(item_id bigint, token uuid)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    UPDATE phase3_queue
    SET status = 'done', completed_at = now(), last_error = NULL
    WHERE id = item_id AND status = 'claimed' AND claim_token = token;
    RETURN FOUND;
END;
$$;

-- Give a claimed row back with `error`, claimable again in `retry_in_seconds`, or fail it
-- for good once it has had `max_attempts` claims. Returns the row's new status, 'queued' or
-- 'failed'; NULL, and nothing changed, when the row no longer holds `token`.
-- (Migration 0036.)
CREATE OR REPLACE FUNCTION phase3_fail_v1(
    item_id bigint, token uuid, error text, retry_in_seconds double precision,
    max_attempts integer)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    new_status text;
BEGIN
    IF retry_in_seconds IS NULL OR NOT retry_in_seconds >= 0
       OR retry_in_seconds IN ('Infinity', 'NaN') THEN
        RAISE EXCEPTION 'retry_in_seconds must be a number of seconds, 0 or more'
            USING ERRCODE = '22023';
    ELSIF max_attempts IS NULL OR max_attempts < 1 THEN
        RAISE EXCEPTION 'max_attempts must be at least 1' USING ERRCODE = '22023';
    END IF;
    UPDATE phase3_queue
    SET status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
        last_error = error,
        claimed_by = NULL,
        claim_token = NULL,
        available_at = now() + make_interval(secs => retry_in_seconds)
    WHERE id = item_id AND status = 'claimed' AND claim_token = token
    RETURNING status INTO new_status;
    RETURN new_status;
END;
$$;

-- Up to `job_count` more jobs of queue `queue_name` for worker `worker_id`, through
-- procrastinate's own fetch and in its order, each marked `doing` by that worker: a job that
-- decides the messages of the jobs waiting behind it takes them with this, and finishes them
-- or gives them back (`service/messages/batches.py`).
-- (migration 0038)
CREATE OR REPLACE FUNCTION jobs_fetch_more_v1(queue_name varchar, worker_id bigint, job_count integer)
RETURNS SETOF procrastinate_jobs LANGUAGE plpgsql AS $$
DECLARE
    found procrastinate_jobs;
BEGIN
    FOR i IN 1 .. job_count LOOP
        found := procrastinate_fetch_job_v2(ARRAY[queue_name], worker_id);
        EXIT WHEN found.id IS NULL;
        RETURN NEXT found;
    END LOOP;
END;
$$;

-- Up to `job_count` more jobs of queue `queue_name` for worker `worker_id`, in procrastinate's
-- order, taken in one walk of the queue (`jobs_fetch_more_v1` called procrastinate's fetch once
-- per job), each marked `doing` by that worker as procrastinate's fetch marks them; jobs
-- scheduled later, held by another transaction, or with a `lock` are left.
-- (migration 0041)
CREATE OR REPLACE FUNCTION jobs_fetch_more_v2(queue_name varchar, worker_id bigint, job_count integer)
RETURNS SETOF procrastinate_jobs LANGUAGE sql AS $$
    WITH candidate AS (
        SELECT jobs.id
        FROM procrastinate_jobs AS jobs
        WHERE jobs.status = 'todo'
          AND jobs.queue_name = jobs_fetch_more_v2.queue_name
          AND jobs.lock IS NULL
          AND (jobs.scheduled_at IS NULL OR jobs.scheduled_at <= now())
        ORDER BY jobs.priority DESC, jobs.id ASC
        LIMIT job_count
        FOR UPDATE OF jobs SKIP LOCKED
    )
    UPDATE procrastinate_jobs AS jobs
    SET status = 'doing', worker_id = jobs_fetch_more_v2.worker_id
    FROM candidate
    WHERE jobs.id = candidate.id
    RETURNING jobs.*;
$$;
