-- Version 3 on PostgreSQL: the hourly analytics rollups and the request log's policies and cache columns
-- (SQLite's 0003). No backfill: a PostgreSQL store starts at this build, with no older request log to roll up.
CREATE TABLE usage_hourly (
    hour            BIGINT NOT NULL,
    key_id          TEXT NOT NULL,
    team            TEXT NOT NULL,
    tenant          TEXT NOT NULL,
    model           TEXT NOT NULL,
    deployment      TEXT NOT NULL,
    requests        BIGINT NOT NULL,
    errors          BIGINT NOT NULL,
    cache_hits      BIGINT NOT NULL,
    input_tokens    BIGINT NOT NULL,
    output_tokens   BIGINT NOT NULL,
    cached_tokens   BIGINT NOT NULL,
    cost_nanos      BIGINT NOT NULL,
    duration_ms_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (hour, key_id, team, tenant, model, deployment)
);

CREATE TABLE latency_hourly (
    hour        BIGINT NOT NULL,
    key_id      TEXT NOT NULL,
    team        TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    model       TEXT NOT NULL,
    deployment  TEXT NOT NULL,
    bucket      INTEGER NOT NULL,
    count       BIGINT NOT NULL,
    PRIMARY KEY (hour, key_id, team, tenant, model, deployment, bucket)
);

ALTER TABLE request_log ADD COLUMN policies TEXT;
ALTER TABLE request_log ADD COLUMN cache TEXT;
