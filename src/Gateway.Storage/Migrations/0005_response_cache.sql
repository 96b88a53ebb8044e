-- Version 5: the response cache. Its entries when cache.store is "sqlite", so they outlive a restart; bounded
-- by the sum of size (the answer's bytes and an allowance for the rest), the least recently used go first.
-- And daily usage counts the answers served from the cache, which a provider did not answer (so they add to
-- no tokens or cost there; their rows in the request log keep what they saved).
CREATE TABLE response_cache (
    key               BLOB NOT NULL UNIQUE,
    scope             TEXT NOT NULL,
    model             TEXT NOT NULL,
    form              INTEGER NOT NULL,
    content_type      TEXT NOT NULL,
    body              BLOB NOT NULL,
    stored            INTEGER NOT NULL,
    expires           INTEGER NOT NULL,
    last_used         INTEGER NOT NULL,
    size              INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    total_tokens      INTEGER NOT NULL,
    cached_tokens     INTEGER NOT NULL,
    reasoning_tokens  INTEGER NOT NULL
) STRICT;

CREATE INDEX response_cache_last_used ON response_cache (last_used);
CREATE INDEX response_cache_scope_model ON response_cache (scope, model);

ALTER TABLE usage_daily ADD COLUMN cache_hits INTEGER NOT NULL DEFAULT 0;
