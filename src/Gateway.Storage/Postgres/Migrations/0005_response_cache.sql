-- Version 5 on PostgreSQL: the response cache's table and daily usage's cache hits (SQLite's 0005).
CREATE TABLE response_cache (
    key               BYTEA NOT NULL UNIQUE,
    scope             TEXT NOT NULL,
    model             TEXT NOT NULL,
    form              INTEGER NOT NULL,
    content_type      TEXT NOT NULL,
    body              BYTEA NOT NULL,
    stored            BIGINT NOT NULL,
    expires           BIGINT NOT NULL,
    last_used         BIGINT NOT NULL,
    size              BIGINT NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    total_tokens      INTEGER NOT NULL,
    cached_tokens     INTEGER NOT NULL,
    reasoning_tokens  INTEGER NOT NULL
);

CREATE INDEX response_cache_last_used ON response_cache (last_used);
CREATE INDEX response_cache_scope_model ON response_cache (scope, model);

ALTER TABLE usage_daily ADD COLUMN cache_hits BIGINT NOT NULL DEFAULT 0;
