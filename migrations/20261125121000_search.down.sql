DROP INDEX IF EXISTS text_embeddings_content_tsv;
ALTER TABLE text_embeddings DROP COLUMN IF EXISTS content_tsv;
