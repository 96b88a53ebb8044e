-- Version 4 on PostgreSQL: a semantic cache hit's similarity in the request log (SQLite's 0004).
ALTER TABLE request_log ADD COLUMN cache_similarity DOUBLE PRECISION;
