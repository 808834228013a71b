-- graph_send_buckets_take --
-- Take one send from the account's bucket, in one statement that every worker shares: the
-- row (created full) is refilled by the time since it was last refilled x `rate` a second,
-- capped at `burst`, then gives one send when it holds at least `need` (1, or more to keep
-- some for verification DMs), else none. Time is the database's clock at the statement's
-- start; a taker that waited for the row's lock gets no refill for time already credited,
-- so concurrent takers never admit more than `burst` + `rate` x elapsed.
-- With `queue` (acknowledgements), a refused taker joins the line: it is given its own turn
-- (`queued_until` moves on by 1 / `rate`), recorded on its DM (`outbound_messages.paced_at`,
-- `dm_id`); while a line waits, a newcomer joins it rather than taking a send before the
-- line. A DM with a turn needs 1, not `need`, and never joins the line again.
-- Returns whether it was admitted (at `taken_at`, the time its refill counted to) and, if
-- not, the seconds to wait: until its turn, else until the bucket holds what it needs.
WITH dm AS (
    SELECT EXISTS (
        SELECT 1 FROM outbound_messages WHERE id = %(dm_id)s AND paced_at IS NOT NULL
    ) AS reserved
), took AS (
    INSERT INTO graph_send_buckets AS b (scoped_id, tokens, refilled_at, queued_until, admitted)
    VALUES (%(scoped_id)s, %(burst)s::float8 - 1, statement_timestamp(), '-infinity', true)
    ON CONFLICT (scoped_id) DO UPDATE
    SET tokens = least(%(burst)s::float8, b.tokens + %(rate)s::float8 * greatest(0::float8,
            extract(epoch FROM statement_timestamp() - b.refilled_at)::float8))
        - CASE WHEN (least(%(burst)s::float8, b.tokens + %(rate)s::float8 * greatest(0::float8,
            extract(epoch FROM statement_timestamp() - b.refilled_at)::float8)) >= (CASE WHEN (SELECT reserved FROM dm) THEN 1 ELSE %(need)s::float8 END) - 1e-9
         AND NOT (%(queue)s AND NOT (SELECT reserved FROM dm) AND b.queued_until > statement_timestamp())) THEN 1 ELSE 0 END,
        refilled_at = greatest(b.refilled_at, statement_timestamp()),
        admitted = (least(%(burst)s::float8, b.tokens + %(rate)s::float8 * greatest(0::float8,
            extract(epoch FROM statement_timestamp() - b.refilled_at)::float8)) >= (CASE WHEN (SELECT reserved FROM dm) THEN 1 ELSE %(need)s::float8 END) - 1e-9
         AND NOT (%(queue)s AND NOT (SELECT reserved FROM dm) AND b.queued_until > statement_timestamp())),
        queued_until = CASE
            WHEN (least(%(burst)s::float8, b.tokens + %(rate)s::float8 * greatest(0::float8,
            extract(epoch FROM statement_timestamp() - b.refilled_at)::float8)) >= (CASE WHEN (SELECT reserved FROM dm) THEN 1 ELSE %(need)s::float8 END) - 1e-9
         AND NOT (%(queue)s AND NOT (SELECT reserved FROM dm) AND b.queued_until > statement_timestamp())) OR NOT %(queue)s OR (SELECT reserved FROM dm) THEN b.queued_until
            ELSE greatest(
                b.queued_until,
                statement_timestamp() + make_interval(secs => greatest(0::float8,
                    (CASE WHEN (SELECT reserved FROM dm) THEN 1 ELSE %(need)s::float8 END) - least(%(burst)s::float8, b.tokens + %(rate)s::float8 * greatest(0::float8,
            extract(epoch FROM statement_timestamp() - b.refilled_at)::float8))) / %(rate)s::float8))
                + make_interval(secs => 1 / %(rate)s::float8)
            END
    RETURNING admitted, tokens, queued_until, refilled_at AS taken_at
), turn AS (
    SELECT took.*,
           NOT took.admitted AND %(queue)s AND NOT (SELECT reserved FROM dm) AS joined
    FROM took
), marked AS (
    UPDATE outbound_messages o
    SET paced_at = CASE WHEN turn.admitted THEN NULL
                        ELSE turn.queued_until - make_interval(secs => 1 / %(rate)s::float8)
                   END
    FROM turn
    WHERE o.id = %(dm_id)s AND (turn.admitted OR turn.joined)
)
SELECT admitted, taken_at, tokens,
       CASE WHEN admitted THEN 0::float8
            WHEN joined THEN extract(epoch FROM queued_until - statement_timestamp())::float8
                             - 1 / %(rate)s::float8
            ELSE (CASE WHEN (SELECT reserved FROM dm) THEN 1 ELSE %(need)s::float8 END
                  - tokens) / %(rate)s::float8
       END AS wait_seconds
FROM turn;
