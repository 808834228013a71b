-- The Phase 3 contract as a versioned database API that a consumer in any language calls
-- (docs/phase3.md), as procrastinate offers its own (`procrastinate_fetch_job_v2`): claim,
-- extend, complete and fail, each one function, its arguments typed (seconds as double
-- precision), its refusals of bad arguments an error of SQLSTATE 22023
-- (invalid_parameter_value) that names the argument. A claim returns the message's columns
-- beside the queue's, `shared_items` included, so a consumer reads no other table. The
-- statements are those of `service/store/sql/queries/phase3_queue.sql` before this migration,
-- their outcomes unchanged.

-- Claim up to `max_rows` claimable rows for `consumer`: each gets a fresh `claim_token`, a
-- lease of `lease_seconds` and one more attempt. Rows are taken in the order they became
-- claimable (`available_at`, then `id`), each locked FOR UPDATE SKIP LOCKED, so concurrent
-- claims never wait on each other nor share a row. Rows whose `max_attempts` claims all
-- ended without an outcome become `failed` instead, their `last_error` kept or else
-- 'claimed N times without being completed', and are not returned.
CREATE FUNCTION phase3_claim_v1(
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
CREATE FUNCTION phase3_extend_v1(item_id bigint, token uuid, lease_seconds double precision)
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
CREATE FUNCTION phase3_complete_v1(item_id bigint, token uuid)
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
CREATE FUNCTION phase3_fail_v1(
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
