DELETE FROM text_embeddings WHERE embedding IS NULL;
ALTER TABLE text_embeddings ALTER COLUMN embedding SET NOT NULL;
DROP INDEX IF EXISTS text_embeddings_content_tsv;
ALTER TABLE text_embeddings DROP COLUMN IF EXISTS content_tsv;
