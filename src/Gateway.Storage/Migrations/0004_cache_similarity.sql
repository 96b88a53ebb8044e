-- Version 4: a semantic cache hit's similarity (the cosine between the prompt and the one whose answer it got), beside its cache result.
ALTER TABLE request_log ADD COLUMN cache_similarity REAL;
