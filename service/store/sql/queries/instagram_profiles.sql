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

-- instagram_profiles_request_fetch --
-- Ask for the profiles of the senders of messages `mids` that are due to be asked of Meta
-- (never asked, or last answered more than `refresh_seconds` ago) and not asked for yet:
-- marked requested, locked in ig_id order as the decision's claim locks them. Echoes (whose
-- sender is the account itself) and standby messages ask for none. Returns each sender
-- asked for, its account (NULL: the environment's, `fallback`), and whether that account's
-- fetch job already waits (its queueing lock, `service.core.jobs.profile_fetches`).
WITH due AS (
    SELECT p.ig_id
    FROM instagram_profiles p
    WHERE p.ig_id IN (SELECT sender_ig_id FROM messages
                      WHERE id = ANY(%(mids)s::text[]) AND NOT is_echo AND source <> 'standby')
      AND p.profile_requested_at IS NULL
      AND (p.profile_fetched_at IS NULL
           OR p.profile_fetched_at < now() - make_interval(secs => %(refresh_seconds)s))
    ORDER BY p.ig_id
    FOR UPDATE
)
UPDATE instagram_profiles p
SET profile_requested_at = now()
FROM due
WHERE p.ig_id = due.ig_id
RETURNING p.ig_id, p.account_ig_id,
          EXISTS (SELECT 1 FROM procrastinate_jobs j
                  WHERE j.queueing_lock = 'profiles:' || coalesce(p.account_ig_id, %(fallback)s)
                    AND j.status = 'todo') AS queued;

-- instagram_profiles_next_requested --
-- The account's sender asked for longest ago whose profile is still to be fetched; the
-- environment's account (`fallback` true) also has the profiles of no account. No row when
-- none waits.
SELECT ig_id
FROM instagram_profiles
WHERE profile_requested_at IS NOT NULL
  AND (account_ig_id = %(account)s OR (account_ig_id IS NULL AND %(fallback)s))
ORDER BY profile_requested_at, ig_id
LIMIT 1;

-- instagram_profiles_forget_request --
-- The fetch of profile `ig_id` ended without an answer to keep (a transient failure, or it
-- was answered meanwhile): no longer requested; the sender's next message asks again.
UPDATE instagram_profiles SET profile_requested_at = NULL WHERE ig_id = %(ig_id)s;

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
    profile_fetched_at = now(), profile_error = NULL, profile_requested_at = NULL
WHERE ig_id = %(ig_id)s;

-- instagram_profiles_record_refused --
-- Meta refused profile `ig_id` for a reason asking again soon would not change (`error`):
-- recorded as an answer, so it is asked again only when a fetched profile would be; what
-- an earlier answer gave is kept.
UPDATE instagram_profiles
SET profile_fetched_at = now(), profile_error = %(error)s, profile_requested_at = NULL
WHERE ig_id = %(ig_id)s;
-- instagram_profiles_get --
-- One sender's profile, if any.
SELECT {InstagramProfile} FROM instagram_profiles WHERE ig_id = %(ig_id)s;
