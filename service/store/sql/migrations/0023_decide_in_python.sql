-- The decision of a message moves to Python (`service.messages.decision`), over named
-- statements in one transaction: its rules read and change in one place, where a
-- newcomer looks for them, and the one statement they replace measured no gain.
DROP FUNCTION messages_decide(text, jsonb, float8, jsonb, float8);
