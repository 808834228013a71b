-- graph_rate_limits_hold --
-- How many seconds the account `scoped_id` is still held by a Graph API rate limit; 0 when
-- it is not.
SELECT coalesce(max(extract(epoch FROM limited_until - now())), 0)::float8 AS seconds
FROM graph_rate_limits
WHERE scoped_id = %(scoped_id)s AND limited_until > now();
