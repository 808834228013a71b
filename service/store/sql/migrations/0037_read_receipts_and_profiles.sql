-- When the recipient read a DM of ours, from Meta's read receipts (`read`, the
-- `messaging_seen` field): a receipt names the last message read, and marks every DM sent
-- to that user up to it (`outbound_messages_record_read`).
ALTER TABLE outbound_messages ADD COLUMN read_at timestamptz;

-- What Meta's User Profile API says of a sender (`GET /{IGSID}`, allowed once they wrote to
-- the account), beside the spec's `username`, `display_name` and `profile_pic_url`, and
-- when it was last asked: `profile_fetched_at` is the time of the last answer, a profile or
-- a refusal that asking again would not change (`profile_error`: `consent_required`, Meta's
-- error 230, or `unavailable`), so a profile is asked for again only once it is older than
-- PROFILE_REFRESH_SECONDS (`service/sender_profiles`).
ALTER TABLE instagram_profiles
    ADD COLUMN is_verified_user boolean,
    ADD COLUMN follower_count integer,
    ADD COLUMN is_user_follow_business boolean,
    ADD COLUMN is_business_follow_user boolean,
    ADD COLUMN profile_fetched_at timestamptz,
    ADD COLUMN profile_error text
        CHECK (profile_error IN ('consent_required', 'unavailable'));
-- The console finds a user by username.
CREATE INDEX instagram_profiles_username ON instagram_profiles (lower(username))
    WHERE username IS NOT NULL;

-- Fresh media URLs on request (`POST /api/internal/messages/{mid}/refresh-media`): when the
-- message's `shared_items` URLs were last read again from Meta, and when Meta answered that
-- it no longer has the message, which is then not asked again.
ALTER TABLE messages
    ADD COLUMN media_refreshed_at timestamptz,
    ADD COLUMN media_gone_at timestamptz;
