-- Overlap lists read the most recent mentions of one indicator value. With
-- the ID in the index they are read newest first, and only as many as the
-- list needs, however many findings share a common value.

CREATE INDEX iocs_value_recent ON iocs (kind, value, id);
DROP INDEX iocs_value;
