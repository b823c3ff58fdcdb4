-- The platform's ID of each delivered message, in its own indexed column, so
-- a reaction on a bot message finds the effect that posted it without
-- scanning the delivery results.

ALTER TABLE outbox ADD COLUMN message_id TEXT;
UPDATE outbox SET message_id = json_extract(result, '$.message_id')
    WHERE status = 'delivered' AND result IS NOT NULL AND json_valid(result);
CREATE INDEX outbox_message ON outbox (platform, message_id);
