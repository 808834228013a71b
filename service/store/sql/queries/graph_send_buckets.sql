-- graph_send_buckets_take --
-- Take one send from the account's bucket, in one statement that every worker shares: the
-- row (created full) is refilled by the time since it was last refilled × `rate` a second,
-- capped at `burst`, then gives one send when it holds at least `need` (1, or more to keep
-- some for verification DMs), else none. Time is the database's clock at the statement's
-- start; a taker that waited for the row's lock gets no refill for time already credited,
-- so concurrent takers never admit more than `burst` + `rate` × elapsed. Returns whether
-- it was admitted (at `taken_at`, the time its refill counted to) and, if not, the
-- seconds to wait: until the bucket holds `need`, or with
-- `queue`, until this taker's own turn at the end of the line (`queued_until`).
INSERT INTO graph_send_buckets AS b (scoped_id, tokens, refilled_at, queued_until, admitted)
VALUES (%(scoped_id)s, %(burst)s::float8 - 1, statement_timestamp(), '-infinity', true)
ON CONFLICT (scoped_id) DO UPDATE
SET tokens = least(%(burst)s::float8, b.tokens + %(rate)s::float8 * greatest(0,
                 extract(epoch FROM statement_timestamp() - b.refilled_at)::float8))
             - CASE WHEN least(%(burst)s::float8, b.tokens + %(rate)s::float8 * greatest(0,
                        extract(epoch FROM statement_timestamp() - b.refilled_at)::float8))
                         >= %(need)s::float8 - 1e-9
                    THEN 1 ELSE 0 END,
    refilled_at = greatest(b.refilled_at, statement_timestamp()),
    admitted = least(%(burst)s::float8, b.tokens + %(rate)s::float8 * greatest(0,
                   extract(epoch FROM statement_timestamp() - b.refilled_at)::float8))
               >= %(need)s::float8 - 1e-9,
    queued_until = CASE
        WHEN NOT %(queue)s
             OR least(%(burst)s::float8, b.tokens + %(rate)s::float8 * greatest(0,
                    extract(epoch FROM statement_timestamp() - b.refilled_at)::float8))
                >= %(need)s::float8 - 1e-9
        THEN b.queued_until
        ELSE greatest(
                 b.queued_until,
                 statement_timestamp() + make_interval(secs => (%(need)s::float8 - least(
                     %(burst)s::float8, b.tokens + %(rate)s::float8 * greatest(0,
                     extract(epoch FROM statement_timestamp() - b.refilled_at)::float8)))
                     / %(rate)s::float8))
             + make_interval(secs => 1 / %(rate)s::float8)
        END
RETURNING admitted,
          CASE WHEN admitted THEN 0::float8
               WHEN %(queue)s THEN extract(epoch FROM queued_until - statement_timestamp())::float8
                                   - 1 / %(rate)s::float8
               ELSE (%(need)s::float8 - tokens) / %(rate)s::float8
          END AS wait_seconds,
          tokens, refilled_at AS taken_at;
