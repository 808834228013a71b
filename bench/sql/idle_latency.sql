-- idle_stages --
-- For each message of senders %(senders)s: when its webhook delivery was stored, when the
-- message was stored, and when its processing finished (transaction start times, as
-- now() gives them: each stage is seen from the start of the transaction that ends it).
SELECT m.sender_ig_id AS sender,
       extract(epoch FROM d.received_at)::float8 AS delivery_stored,
       extract(epoch FROM m.created_at)::float8 AS message_stored,
       extract(epoch FROM m.decided_at)::float8 AS message_decided
FROM messages m
JOIN webhook_deliveries d
  ON d.body -> 'entry' -> 0 -> 'messaging' -> 0 -> 'message' ->> 'mid' = m.id
WHERE m.sender_ig_id = ANY(%(senders)s::text[]);
