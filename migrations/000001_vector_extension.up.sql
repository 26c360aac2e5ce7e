-- pgvector, in a migration of its own so the schema diff never touches it.
CREATE EXTENSION IF NOT EXISTS vector;
