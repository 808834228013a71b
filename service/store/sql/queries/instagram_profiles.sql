-- instagram_profiles_upsert --
-- Find or create a sender's profile; the update takes the row lock that serialises one
-- user's messages.
INSERT INTO instagram_profiles (ig_id)
VALUES (%(ig_id)s)
ON CONFLICT (ig_id) DO UPDATE SET updated_at = now()
RETURNING {InstagramProfile};

-- instagram_profiles_connect --
-- Link an Instagram account to a Reeva user, creating either side as needed; linking it
-- again to the same user keeps the first `connected_at`.
WITH person AS (
    INSERT INTO profiles (id) VALUES (%(user_id)s)
    ON CONFLICT (id) DO UPDATE SET updated_at = now()
    RETURNING id
)
INSERT INTO instagram_profiles (ig_id, connected_user_id, connected_at)
SELECT %(ig_id)s, person.id, now() FROM person
ON CONFLICT (ig_id) DO UPDATE
SET connected_user_id = EXCLUDED.connected_user_id,
    connected_at = CASE
        WHEN instagram_profiles.connected_user_id = EXCLUDED.connected_user_id
            THEN instagram_profiles.connected_at
        ELSE now()
    END
RETURNING {InstagramProfile};

-- instagram_profiles_record_inbound --
-- The sender opened the messaging window at `at`: keep the later of that and what is known.
-- A time ahead of ours (a sender's clock, a hand-written event) counts as now.
INSERT INTO instagram_profiles (ig_id, last_inbound_at)
VALUES (%(ig_id)s, least(%(at)s, now()))
ON CONFLICT (ig_id) DO UPDATE
SET last_inbound_at = greatest(instagram_profiles.last_inbound_at, EXCLUDED.last_inbound_at);

-- instagram_profiles_get --
-- One sender's profile, if any.
SELECT {InstagramProfile} FROM instagram_profiles WHERE ig_id = %(ig_id)s;
