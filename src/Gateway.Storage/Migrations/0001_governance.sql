-- Version 1: governance. Tenants > teams > keys, the audit log, request logs, daily usage, budget
-- spend per period, and provider credentials (encrypted). Times are Unix milliseconds (UTC); money is
-- integer nano-dollars (1e-9 USD), so sums never drift; JSON columns hold limits, budgets, metadata.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    limits      TEXT,
    budget      TEXT,
    metadata    TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    tenant      TEXT REFERENCES tenants(id) ON DELETE RESTRICT,
    name        TEXT NOT NULL,
    limits      TEXT,
    budget      TEXT,
    metadata    TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE keys (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    hash        BLOB NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    tenant      TEXT REFERENCES tenants(id) ON DELETE RESTRICT,
    team        TEXT REFERENCES teams(id) ON DELETE RESTRICT,
    models      TEXT,
    limits      TEXT,
    budget      TEXT,
    admin       INTEGER NOT NULL DEFAULT 0,
    metadata    TEXT,
    expires_at  INTEGER,
    revoked_at  INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time        INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    before      TEXT,
    after       TEXT
) STRICT;
CREATE INDEX audit_log_time ON audit_log(time);

-- One row per request; request_id is the x-request-id (the client's own when it sent one, so not unique).
CREATE TABLE request_log (
    request_id       TEXT NOT NULL,
    time             INTEGER NOT NULL,
    key_id           TEXT,
    team             TEXT,
    tenant           TEXT,
    dialect          TEXT NOT NULL,
    model            TEXT,
    provider         TEXT,
    provider_model   TEXT,
    attempts         INTEGER NOT NULL,
    stream           INTEGER NOT NULL,
    status           INTEGER NOT NULL,
    outcome          TEXT NOT NULL,
    error_code       TEXT,
    input_tokens     INTEGER NOT NULL,
    output_tokens    INTEGER NOT NULL,
    cached_tokens    INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    cost_nanos       INTEGER NOT NULL,
    duration_ms      REAL NOT NULL,
    ttft_ms          REAL,
    upstream_ms      REAL NOT NULL,
    request_body     TEXT,
    response_body    TEXT
) STRICT;
CREATE INDEX request_log_time ON request_log(time);
CREATE INDEX request_log_key_time ON request_log(key_id, time);

CREATE TABLE usage_daily (
    day              INTEGER NOT NULL,
    key_id           TEXT NOT NULL,
    team             TEXT NOT NULL DEFAULT '',
    tenant           TEXT NOT NULL DEFAULT '',
    model            TEXT NOT NULL,
    requests         INTEGER NOT NULL,
    input_tokens     INTEGER NOT NULL,
    output_tokens    INTEGER NOT NULL,
    cached_tokens    INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    cost_nanos       INTEGER NOT NULL,
    PRIMARY KEY (day, key_id, model)
) STRICT;

CREATE TABLE budget_spend (
    scope         TEXT NOT NULL,
    scope_id      TEXT NOT NULL,
    period_start  INTEGER NOT NULL,
    spent_nanos   INTEGER NOT NULL,
    PRIMARY KEY (scope, scope_id, period_start)
) STRICT;

CREATE TABLE provider_secrets (
    name        TEXT PRIMARY KEY,
    config      TEXT NOT NULL,
    secret      BLOB,
    nonce       BLOB,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
