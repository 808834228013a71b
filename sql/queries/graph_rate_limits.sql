-- graph_rate_limit_remaining --
-- Seconds until the account may send again (0 when it is not rate-limited).
SELECT coalesce(max(extract(epoch FROM limited_until - now())), 0)::float8 AS seconds
FROM graph_rate_limits
WHERE scoped_id = %(scoped_id)s AND limited_until > now();

-- graph_rate_limit_extend --
-- Hold the account's sends for `seconds` from now, never shortening a longer hold.
INSERT INTO graph_rate_limits (scoped_id, limited_until, error)
VALUES (%(scoped_id)s, now() + make_interval(secs => %(seconds)s), %(error)s)
ON CONFLICT (scoped_id) DO UPDATE
SET limited_until = greatest(graph_rate_limits.limited_until, EXCLUDED.limited_until),
    error = EXCLUDED.error;
