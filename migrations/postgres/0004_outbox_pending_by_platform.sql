-- The worker reads a platform's pending entries in ID order many times a
-- second. Without this index the read went through outbox_message and
-- visited every entry ever delivered on the platform, then sorted them;
-- this partial index holds the pending entries only, already in order.

CREATE INDEX outbox_platform_pending ON outbox (platform, id) WHERE status = 'pending';
