"""Who sent it: each sender's profile from Meta's User Profile API (`GET /{IGSID}`), asked
for in the background after their first message and again once older than
PROFILE_REFRESH_SECONDS, never on a DM's way (`requesting`, `fetching`)."""
