-- Version 2: a counter every change to tenants, teams, keys and stored providers advances, so a
-- running gateway sees a change made by another process (the offline CLI, another replica) by
-- reading one row; and the request log's filters by model and status use indexes.

CREATE TABLE meta (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
) STRICT;
INSERT INTO meta (name, value) VALUES ('directory_version', 1);

CREATE INDEX request_log_model_time ON request_log(model, time);
CREATE INDEX usage_daily_day ON usage_daily(day);
