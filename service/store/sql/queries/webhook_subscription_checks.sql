-- webhook_subscription_checks_record --
-- Record what the last read of the account's webhook subscription found.
INSERT INTO webhook_subscription_checks
    (scoped_id, checked_at, subscribed, subscribed_fields, error)
VALUES (%(scoped_id)s, now(), %(subscribed)s, %(fields)s, %(error)s)
ON CONFLICT (scoped_id) DO UPDATE
SET checked_at = EXCLUDED.checked_at,
    subscribed = EXCLUDED.subscribed,
    subscribed_fields = EXCLUDED.subscribed_fields,
    error = EXCLUDED.error;
