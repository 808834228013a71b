-- Who consumed a verification token, when, and how many earlier messages that released,
-- so that a second click on the same link answers as the first did.
ALTER TABLE verification_tokens
    ADD COLUMN consumed_at timestamptz,
    ADD COLUMN consumed_by_user_id uuid REFERENCES profiles (id) ON DELETE SET NULL,
    ADD COLUMN released_messages integer CHECK (released_messages >= 0);
