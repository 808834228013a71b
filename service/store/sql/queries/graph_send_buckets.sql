-- graph_send_buckets_take --
-- Take one send for DM `dm_id` from the account's bucket, or give the DM its turn, in one
-- statement that every worker shares. Time is the database's clock at the statement's
-- start; T is 1 / `rate`.
-- A DM that was given a turn (`outbound_messages.paced_at`) goes when its turn has come,
-- without taking again: its send was taken when the turn was given. It waits again only
-- when it comes early; one that comes more than `late_seconds` after its turn (a worker
-- that was away) has lost it and takes afresh, so that late sends never bunch up beyond
-- the burst.
-- Any other taker: the bucket, refilled at `rate` a second up to `burst`, gives one send
-- when it holds at least `need` (1, or more for an acknowledgement, to keep some for
-- verification DMs) and, for a taker with `queue` (acknowledgements), no line is waiting.
-- Otherwise the taker is given the next turn of the line: `queued_until` moves on by T and
-- is its turn. The line owns the bucket's refill until `queued_until` (each turn is paid
-- by T of it), so the bucket refills only after the line has gone, and every turn is
-- distinct: a backlog of N sends comes back N times, once each, never as a herd. What
-- the bucket held when the line formed stays for verification DMs, which take it before
-- the line. A taker that waited for the row's lock gets no refill for time already
-- credited, so concurrent takers never admit more than `burst` + `rate` x elapsed.
-- Returns whether it was admitted (at `taken_at`) and, if not, its turn (`turn_at`) and the
-- seconds until then.
WITH mine AS (
    SELECT turn,
           statement_timestamp() >= turn - interval '1 millisecond'
           AND statement_timestamp() <= turn + make_interval(secs => %(late_seconds)s) AS due,
           statement_timestamp() < turn - interval '1 millisecond' AS early
    FROM (SELECT (SELECT paced_at FROM outbound_messages WHERE id = %(dm_id)s) AS turn) AS held
), took AS (
    INSERT INTO graph_send_buckets AS b (scoped_id, tokens, refilled_at, queued_until, admitted)
    SELECT %(scoped_id)s, %(burst)s::float8 - 1, statement_timestamp(), '-infinity', true
    FROM mine
    WHERE NOT coalesce(mine.due OR mine.early, false)
    ON CONFLICT (scoped_id) DO UPDATE
    SET tokens = least(%(burst)s::float8, b.tokens + %(rate)s::float8 * greatest(0::float8,
            extract(epoch FROM statement_timestamp() - greatest(b.refilled_at, b.queued_until))::float8))
        - CASE WHEN least(%(burst)s::float8, b.tokens + %(rate)s::float8 * greatest(0::float8,
            extract(epoch FROM statement_timestamp() - greatest(b.refilled_at, b.queued_until))::float8))
                    >= %(need)s::float8 - 1e-9
                AND NOT (%(queue)s AND b.queued_until > statement_timestamp())
               THEN 1 ELSE 0 END,
        refilled_at = greatest(b.refilled_at, statement_timestamp()),
        admitted = least(%(burst)s::float8, b.tokens + %(rate)s::float8 * greatest(0::float8,
            extract(epoch FROM statement_timestamp() - greatest(b.refilled_at, b.queued_until))::float8))
                >= %(need)s::float8 - 1e-9
            AND NOT (%(queue)s AND b.queued_until > statement_timestamp()),
        queued_until = CASE
            WHEN least(%(burst)s::float8, b.tokens + %(rate)s::float8 * greatest(0::float8,
                extract(epoch FROM statement_timestamp() - greatest(b.refilled_at, b.queued_until))::float8))
                    >= %(need)s::float8 - 1e-9
                AND NOT (%(queue)s AND b.queued_until > statement_timestamp())
            THEN b.queued_until
            ELSE greatest(b.queued_until, statement_timestamp()) + make_interval(secs => 1 / %(rate)s::float8)
        END
    RETURNING admitted, queued_until, refilled_at
), marked AS (
    UPDATE outbound_messages o
    SET paced_at = CASE WHEN took.admitted THEN NULL ELSE took.queued_until END
    FROM took
    WHERE o.id = %(dm_id)s
      -- Not a DM admitted at once, which had no turn: an update that changes nothing
      -- still writes the row again, and each of the table's indexes.
      AND o.paced_at IS DISTINCT FROM
          CASE WHEN took.admitted THEN NULL ELSE took.queued_until END
), spent AS (
    UPDATE outbound_messages o
    SET paced_at = NULL
    FROM mine
    WHERE o.id = %(dm_id)s AND mine.due
)
SELECT coalesce(mine.due, false) OR coalesce(took.admitted, false) AS admitted,
       CASE WHEN mine.due THEN statement_timestamp() ELSE took.refilled_at END AS taken_at,
       CASE WHEN coalesce(mine.due, false) OR coalesce(took.admitted, false) THEN 0::float8
            WHEN mine.early THEN extract(epoch FROM mine.turn - statement_timestamp())::float8
            ELSE extract(epoch FROM took.queued_until - statement_timestamp())::float8
       END AS wait_seconds,
       CASE WHEN coalesce(mine.due, false) OR coalesce(took.admitted, false) THEN NULL
            WHEN mine.early THEN mine.turn
            ELSE took.queued_until
       END AS turn_at
FROM mine LEFT JOIN took ON true;

-- graph_send_buckets_take_plain --
-- Take one call from bucket `scoped_id` (a key of its own, such as an account's reads),
-- refilled at `rate` a second up to `burst`, with no line: a taker that finds it empty is
-- told how long until it holds one, and takes afresh then. For calls few enough that
-- waiters seldom meet (senders' profiles, media refreshes); sends keep their line.
INSERT INTO graph_send_buckets AS b (scoped_id, tokens, refilled_at, admitted)
VALUES (%(scoped_id)s, %(burst)s::float8 - 1, statement_timestamp(), true)
ON CONFLICT (scoped_id) DO UPDATE
SET tokens = least(%(burst)s::float8, b.tokens + %(rate)s::float8 * greatest(0::float8,
                 extract(epoch FROM statement_timestamp() - b.refilled_at)::float8))
             - CASE WHEN least(%(burst)s::float8, b.tokens + %(rate)s::float8 * greatest(0::float8,
                 extract(epoch FROM statement_timestamp() - b.refilled_at)::float8)) >= 1 - 1e-9
                    THEN 1 ELSE 0 END,
    refilled_at = greatest(b.refilled_at, statement_timestamp()),
    admitted = least(%(burst)s::float8, b.tokens + %(rate)s::float8 * greatest(0::float8,
                 extract(epoch FROM statement_timestamp() - b.refilled_at)::float8)) >= 1 - 1e-9
RETURNING admitted, refilled_at AS taken_at,
          CASE WHEN admitted THEN 0::float8 ELSE (1 - tokens) / %(rate)s::float8 END
              AS wait_seconds;
