-- Improvement stage: rule proposals (R-n) created when an incident closes,
-- decided by leads and exported once approved.

CREATE TABLE proposals (
    id            TEXT   PRIMARY KEY,
    incident_id   TEXT   NOT NULL,
    kind          TEXT   NOT NULL,
    title         TEXT   NOT NULL,
    body          TEXT   NOT NULL,
    status        TEXT   NOT NULL,
    decided_by    TEXT,
    decision_note TEXT,
    decided_at    BIGINT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX proposals_incident ON proposals (incident_id);
CREATE INDEX proposals_status ON proposals (status);
