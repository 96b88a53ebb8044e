-- Version 3: analytics. Hourly rollups of every request (not only those a provider answered), per
-- key, team, tenant, model and deployment, with errors, cache hits and a latency histogram
-- (log-scale buckets, see Gateway.Core.Analytics.LatencyBuckets), so time series and percentiles are
-- read from a few rows per hour and outlive the request log's retention. The request log gains the
-- policies that ran and the cache result. (No index on duration or cost: their values arrive in random
-- order, and such an index tripled the cost of a row insert, 6 -> 20 us; the slowest and costliest
-- requests are found through the time index instead.)

CREATE TABLE usage_hourly (
    hour            INTEGER NOT NULL,
    key_id          TEXT NOT NULL,
    team            TEXT NOT NULL,
    tenant          TEXT NOT NULL,
    model           TEXT NOT NULL,
    deployment      TEXT NOT NULL,
    requests        INTEGER NOT NULL,
    errors          INTEGER NOT NULL,
    cache_hits      INTEGER NOT NULL,
    input_tokens    INTEGER NOT NULL,
    output_tokens   INTEGER NOT NULL,
    cached_tokens   INTEGER NOT NULL,
    cost_nanos      INTEGER NOT NULL,
    duration_ms_sum REAL NOT NULL,
    PRIMARY KEY (hour, key_id, team, tenant, model, deployment)
) STRICT;

CREATE TABLE latency_hourly (
    hour        INTEGER NOT NULL,
    key_id      TEXT NOT NULL,
    team        TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    model       TEXT NOT NULL,
    deployment  TEXT NOT NULL,
    bucket      INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (hour, key_id, team, tenant, model, deployment, bucket)
) STRICT;

ALTER TABLE request_log ADD COLUMN policies TEXT;
ALTER TABLE request_log ADD COLUMN cache TEXT;

-- What the request log still holds is rolled up, so the series start with the history there is.
INSERT INTO usage_hourly
SELECT time - time % 3600000, coalesce(key_id, ''), coalesce(team, ''), coalesce(tenant, ''), coalesce(model, ''),
       CASE WHEN provider IS NULL THEN '' ELSE provider || '/' || coalesce(provider_model, '') END,
       count(*), sum(status >= 400), 0, sum(input_tokens), sum(output_tokens), sum(cached_tokens), sum(cost_nanos), sum(duration_ms)
FROM request_log GROUP BY 1, 2, 3, 4, 5, 6;

WITH RECURSIVE bound(i, upper) AS (SELECT 0, 0.1 UNION ALL SELECT i + 1, upper * 1.189207115002721 FROM bound WHERE i < 95)
INSERT INTO latency_hourly
SELECT hour, key_id, team, tenant, model, deployment, bucket, count(*) FROM (
    SELECT time - time % 3600000 AS hour, coalesce(key_id, '') AS key_id, coalesce(team, '') AS team, coalesce(tenant, '') AS tenant,
           coalesce(model, '') AS model, CASE WHEN provider IS NULL THEN '' ELSE provider || '/' || coalesce(provider_model, '') END AS deployment,
           coalesce((SELECT min(i) FROM bound WHERE upper >= duration_ms), 95) AS bucket
    FROM request_log)
GROUP BY 1, 2, 3, 4, 5, 6, 7;
