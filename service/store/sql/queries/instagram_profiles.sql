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

-- instagram_profiles_due_for_fetch --
-- The sender of message `mid` when their profile is due to be asked of Meta: never asked,
-- or last answered more than `refresh_seconds` ago, with the account it wrote to; no row
-- otherwise (and for an echo, whose sender is the account itself, or a standby message).
SELECT p.ig_id, p.account_ig_id
FROM messages m JOIN instagram_profiles p ON p.ig_id = m.sender_ig_id
WHERE m.id = %(mid)s AND NOT m.is_echo AND m.source <> 'standby'
  AND (p.profile_fetched_at IS NULL
       OR p.profile_fetched_at < now() - make_interval(secs => %(refresh_seconds)s));

-- instagram_profiles_due_for_fetch_many --
-- `instagram_profiles_due_for_fetch` for several messages at once: their senders due, once
-- each, but for those whose fetch is queued already (its queueing lock,
-- `service.core.jobs.profile_queueing_lock`, holds a waiting job).
SELECT DISTINCT p.ig_id, p.account_ig_id
FROM messages m JOIN instagram_profiles p ON p.ig_id = m.sender_ig_id
WHERE m.id = ANY(%(mids)s::text[]) AND NOT m.is_echo AND m.source <> 'standby'
  AND (p.profile_fetched_at IS NULL
       OR p.profile_fetched_at < now() - make_interval(secs => %(refresh_seconds)s))
  AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j
                  WHERE j.queueing_lock = 'profile:' || p.ig_id AND j.status = 'todo');

-- instagram_profiles_fetch_due --
-- Profile `ig_id`'s account (the one its sender wrote to, whose token asks) when it is still
-- due to be asked of Meta (as `due_for_fetch`), checked again by the job that asks: another
-- may have answered since it was queued. No row when it is not due.
SELECT account_ig_id
FROM instagram_profiles
WHERE ig_id = %(ig_id)s
  AND (profile_fetched_at IS NULL
       OR profile_fetched_at < now() - make_interval(secs => %(refresh_seconds)s));

-- instagram_profiles_record_fetched --
-- Meta's answer for profile `ig_id`: its fields, as of now.
UPDATE instagram_profiles
SET display_name = %(display_name)s, username = %(username)s,
    profile_pic_url = %(profile_pic_url)s, is_verified_user = %(is_verified_user)s,
    follower_count = %(follower_count)s, is_user_follow_business = %(is_user_follow_business)s,
    is_business_follow_user = %(is_business_follow_user)s,
    profile_fetched_at = now(), profile_error = NULL
WHERE ig_id = %(ig_id)s;

-- instagram_profiles_record_refused --
-- Meta refused profile `ig_id` for a reason asking again soon would not change (`error`):
-- recorded as an answer, so it is asked again only when a fetched profile would be; what
-- an earlier answer gave is kept.
UPDATE instagram_profiles
SET profile_fetched_at = now(), profile_error = %(error)s
WHERE ig_id = %(ig_id)s;
-- instagram_profiles_get --
-- One sender's profile, if any.
SELECT {InstagramProfile} FROM instagram_profiles WHERE ig_id = %(ig_id)s;
