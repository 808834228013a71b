-- webhook_subscription_checks_record --
-- Record what the last read of the account's webhook subscription found; whether the read
-- before it found the account unsubscribed (NULL: there was none).
WITH before AS (
    SELECT subscribed FROM webhook_subscription_checks WHERE scoped_id = %(scoped_id)s
)
INSERT INTO webhook_subscription_checks
    (scoped_id, checked_at, subscribed, subscribed_fields, error)
VALUES (%(scoped_id)s, now(), %(subscribed)s, %(fields)s, %(error)s)
ON CONFLICT (scoped_id) DO UPDATE
SET checked_at = EXCLUDED.checked_at,
    subscribed = EXCLUDED.subscribed,
    subscribed_fields = EXCLUDED.subscribed_fields,
    error = EXCLUDED.error
RETURNING NOT (SELECT subscribed FROM before) AS was_unsubscribed;
