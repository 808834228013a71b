-- Phase 3 claims that fence (docs/phase3.md). Each claim writes a fresh `claim_token`; the
-- consumer's extend, complete and fail name it, so a consumer whose row was claimed again
-- by another (its lease ran out) changes nothing, even when both run under the same name.
-- Consumers still running the statements of before this migration leave the token as it
-- was when they claim, so stop them before starting consumers on the new ones.
ALTER TABLE phase3_queue ADD COLUMN claim_token uuid;

-- The claim fails rows that used up their attempts; those are always rows claimed before
-- (attempts > 0), so it looks for them here, among the few such rows whose time has come,
-- rather than through the whole backlog.
CREATE INDEX phase3_queue_retried ON phase3_queue (available_at)
    WHERE status IN ('queued', 'claimed') AND attempts > 0;
