DROP TABLE IF EXISTS frame_embeddings;
DROP TABLE IF EXISTS text_embeddings;
