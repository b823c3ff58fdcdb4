-- Core flow: findings, hunts, incidents, timeline, outbox and the inbound
-- event ledger. Times are UTC milliseconds since the Unix epoch.

CREATE TABLE inbound_events (
    platform    TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    room_id     TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    received_at BIGINT  NOT NULL,
    PRIMARY KEY (platform, event_id)
);

CREATE TABLE counters (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE rooms (
    platform    TEXT NOT NULL,
    room_id     TEXT NOT NULL,
    lang        TEXT,
    incident_id TEXT,
    PRIMARY KEY (platform, room_id)
);
CREATE INDEX rooms_incident ON rooms (incident_id);

CREATE TABLE findings (
    id             TEXT   PRIMARY KEY,
    title          TEXT   NOT NULL,
    severity       TEXT   NOT NULL,
    tlp            TEXT   NOT NULL,
    status         TEXT   NOT NULL,
    reporter       TEXT   NOT NULL,
    platform       TEXT   NOT NULL,
    room_id        TEXT   NOT NULL,
    source_event   TEXT   NOT NULL,
    body           TEXT   NOT NULL,
    incident_id    TEXT,
    decided_by     TEXT,
    decision_note  TEXT,
    created_at     BIGINT NOT NULL,
    handed_off_at  BIGINT,
    decided_at     BIGINT
);

CREATE TABLE iocs (
    id          BIGSERIAL PRIMARY KEY,
    finding_id  TEXT,
    incident_id TEXT,
    kind        TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    flags       TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    added_by    TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX iocs_value ON iocs (kind, value);
CREATE INDEX iocs_finding ON iocs (finding_id);
CREATE INDEX iocs_incident ON iocs (incident_id);

CREATE TABLE files (
    id          BIGSERIAL PRIMARY KEY,
    finding_id  TEXT,
    incident_id TEXT,
    name        TEXT    NOT NULL,
    mime        TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    size        BIGINT  NOT NULL,
    content     BYTEA   NOT NULL,
    generated   BIGINT  NOT NULL,
    added_by    TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE hunts (
    id          TEXT   PRIMARY KEY,
    hypothesis  TEXT   NOT NULL,
    techniques  TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    result      TEXT,
    notes       TEXT,
    hunter      TEXT   NOT NULL,
    platform    TEXT   NOT NULL,
    room_id     TEXT   NOT NULL,
    finding_id  TEXT,
    created_at  BIGINT NOT NULL,
    closed_at   BIGINT
);

CREATE TABLE incidents (
    id          TEXT   PRIMARY KEY,
    title       TEXT   NOT NULL,
    severity    TEXT   NOT NULL,
    tlp         TEXT   NOT NULL,
    stage       TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    owner       TEXT   NOT NULL,
    platform    TEXT   NOT NULL,
    resolution  TEXT,
    summary     TEXT,
    created_at  BIGINT NOT NULL,
    closed_at   BIGINT
);

CREATE TABLE incident_findings (
    incident_id TEXT NOT NULL,
    finding_id  TEXT NOT NULL,
    PRIMARY KEY (incident_id, finding_id)
);

CREATE TABLE participants (
    incident_id TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    role        TEXT NOT NULL,
    PRIMARY KEY (incident_id, user_id)
);

CREATE TABLE tasks (
    incident_id TEXT   NOT NULL,
    number      BIGINT NOT NULL,
    text        TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    created_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    done_by     TEXT,
    done_at     BIGINT,
    PRIMARY KEY (incident_id, number)
);

CREATE TABLE timeline (
    id          BIGSERIAL PRIMARY KEY,
    incident_id TEXT,
    finding_id  TEXT,
    at          BIGINT NOT NULL,
    actor       TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    stage       TEXT,
    detail      TEXT   NOT NULL
);
CREATE INDEX timeline_incident ON timeline (incident_id, at);
CREATE INDEX timeline_finding ON timeline (finding_id, at);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    platform        TEXT    NOT NULL,
    effect          TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        BIGINT  NOT NULL,
    next_attempt_at BIGINT  NOT NULL,
    last_error      TEXT,
    result          TEXT,
    created_at      BIGINT  NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX outbox_pending ON outbox (status, next_attempt_at, id);

CREATE TABLE audit_log (
    id         BIGSERIAL PRIMARY KEY,
    at         BIGINT NOT NULL,
    platform   TEXT   NOT NULL,
    event_id   TEXT   NOT NULL,
    room_id    TEXT   NOT NULL,
    actor      TEXT   NOT NULL,
    command    TEXT   NOT NULL,
    outcome    TEXT   NOT NULL
);
