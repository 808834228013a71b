-- Replays of webhook deliveries, ours and other people's.
--
-- `body_sha256`: the SHA-256 of the exact bytes posted. The same bytes posted again within
-- 24 hours (a captured delivery replayed, Meta retrying one we did answer) are answered 200
-- and stored once: the unique index holds one live digest per body, and an insert first
-- clears the digest of an older row of the same body, so a replay after 24 hours is
-- stored again. Deliveries stored before this migration have none.
--
-- `retry_base`: `attempts` when `ingest replay-delivery --status failed` re-queued the
-- delivery; its forwarding's retries count from there, a fresh budget.
ALTER TABLE webhook_deliveries
    ADD COLUMN body_sha256 bytea,
    ADD COLUMN retry_base integer NOT NULL DEFAULT 0 CHECK (retry_base >= 0);
CREATE UNIQUE INDEX webhook_deliveries_body_sha256
    ON webhook_deliveries (body_sha256) WHERE body_sha256 IS NOT NULL;
