-- Version 2 on PostgreSQL: the directory's version counter and the request log's model index (SQLite's 0002).
CREATE TABLE meta (
    name   TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
);
INSERT INTO meta (name, value) VALUES ('directory_version', 1);

CREATE INDEX request_log_model_time ON request_log(model, time);
CREATE INDEX usage_daily_day ON usage_daily(day);
