-- A sender whose profile is to be asked of Meta, since when: set when their message asks for
-- it (`service/sender_profiles/requesting.py`), cleared by the fetch's outcome. Each account's
-- one `fetch_sender_profiles` job asks for them in that order, at GRAPH_READ_RATE, so many new
-- senders make a list here, not a job each waking at every read turn.
ALTER TABLE instagram_profiles ADD COLUMN profile_requested_at timestamptz;
CREATE INDEX instagram_profiles_requested ON instagram_profiles (profile_requested_at, ig_id)
    WHERE profile_requested_at IS NOT NULL;
