-- Version 1 on PostgreSQL: the same tables as SQLite's 0001_governance.sql (tenants > teams > keys, the audit
-- log, request logs, daily usage, budget spend, provider credentials), in PostgreSQL's types. Times are Unix
-- milliseconds (UTC), money integer nano-dollars. The request log gains a sequence (SQLite's rowid): the
-- cursor its pages are read by.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    limits      TEXT,
    budget      TEXT,
    metadata    TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    tenant      TEXT REFERENCES tenants(id) ON DELETE RESTRICT,
    name        TEXT NOT NULL,
    limits      TEXT,
    budget      TEXT,
    metadata    TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    hash        BYTEA NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    tenant      TEXT REFERENCES tenants(id) ON DELETE RESTRICT,
    team        TEXT REFERENCES teams(id) ON DELETE RESTRICT,
    models      TEXT,
    limits      TEXT,
    budget      TEXT,
    admin       BIGINT NOT NULL DEFAULT 0,
    metadata    TEXT,
    expires_at  BIGINT,
    revoked_at  BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time        BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    before      TEXT,
    after       TEXT
);
CREATE INDEX audit_log_time ON audit_log(time);

CREATE TABLE request_log (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id       TEXT NOT NULL,
    time             BIGINT NOT NULL,
    key_id           TEXT,
    team             TEXT,
    tenant           TEXT,
    dialect          TEXT NOT NULL,
    model            TEXT,
    provider         TEXT,
    provider_model   TEXT,
    attempts         INTEGER NOT NULL,
    stream           BOOLEAN NOT NULL,
    status           INTEGER NOT NULL,
    outcome          TEXT NOT NULL,
    error_code       TEXT,
    input_tokens     BIGINT NOT NULL,
    output_tokens    BIGINT NOT NULL,
    cached_tokens    BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    cost_nanos       BIGINT NOT NULL,
    duration_ms      DOUBLE PRECISION NOT NULL,
    ttft_ms          DOUBLE PRECISION,
    upstream_ms      DOUBLE PRECISION NOT NULL,
    request_body     TEXT,
    response_body    TEXT
);
CREATE INDEX request_log_time ON request_log(time);
CREATE INDEX request_log_key_time ON request_log(key_id, time);

CREATE TABLE usage_daily (
    day              BIGINT NOT NULL,
    key_id           TEXT NOT NULL,
    team             TEXT NOT NULL DEFAULT '',
    tenant           TEXT NOT NULL DEFAULT '',
    model            TEXT NOT NULL,
    requests         BIGINT NOT NULL,
    input_tokens     BIGINT NOT NULL,
    output_tokens    BIGINT NOT NULL,
    cached_tokens    BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    cost_nanos       BIGINT NOT NULL,
    PRIMARY KEY (day, key_id, model)
);

CREATE TABLE budget_spend (
    scope         TEXT NOT NULL,
    scope_id      TEXT NOT NULL,
    period_start  BIGINT NOT NULL,
    spent_nanos   BIGINT NOT NULL,
    PRIMARY KEY (scope, scope_id, period_start)
);

CREATE TABLE provider_secrets (
    name        TEXT PRIMARY KEY,
    config      TEXT NOT NULL,
    secret      BYTEA,
    nonce       BYTEA,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
