-- Full-text search over transcript passages and on-screen text (issue 5).
-- The tsvector is generated, so every writer keeps it right; the GIN index
-- on the partitioned parent is created on every partition, present and
-- future. Lexical matches are fused with vector matches in internal/search.
ALTER TABLE text_embeddings
    ADD COLUMN content_tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED;
CREATE INDEX text_embeddings_content_tsv ON text_embeddings USING gin (content_tsv);
-- A passage without a text embedder is still indexed, for its words only:
-- its embedding is NULL (HNSW leaves NULLs out).
ALTER TABLE text_embeddings ALTER COLUMN embedding DROP NOT NULL;
