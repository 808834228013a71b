-- meta_delivery_progress --
-- How many of the delivery's messages (mids starting %(prefix)s) are stored, and how many
-- decided (decided_at set: processing finished, whatever it decided).
SELECT count(*) AS stored, count(decided_at) AS decided
FROM messages WHERE id LIKE %(prefix)s || '%%';

-- meta_delivery_finished --
-- When the last of those messages was stored and when the last was decided (transaction
-- start times, as now() gives them).
SELECT extract(epoch FROM max(created_at))::float8 AS stored,
       extract(epoch FROM max(decided_at))::float8 AS decided
FROM messages WHERE id LIKE %(prefix)s || '%%';
