-- Per-workspace embedding tables: parents partitioned by workspace. The
-- workspace service creates a partition (with its own HNSW index) for each
-- new workspace and drops it with the workspace; see internal/vectors.
CREATE TABLE text_embeddings (
    workspace_id  varchar NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    video_id      varchar NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    source        varchar NOT NULL,            -- SPEECH (transcript) or TEXT (on-screen)
    start_seconds double precision NOT NULL,
    end_seconds   double precision NOT NULL,
    content       text NOT NULL,
    model         varchar NOT NULL,            -- name@version that produced the vector
    embedding     vector(384) NOT NULL,
    PRIMARY KEY (workspace_id, id)
) PARTITION BY LIST (workspace_id);
CREATE INDEX text_embeddings_video ON text_embeddings (workspace_id, video_id);

CREATE TABLE frame_embeddings (
    workspace_id  varchar NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    video_id      varchar NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    time_seconds  double precision NOT NULL,
    model         varchar NOT NULL,
    embedding     vector(512) NOT NULL,
    PRIMARY KEY (workspace_id, id)
) PARTITION BY LIST (workspace_id);
CREATE INDEX frame_embeddings_video ON frame_embeddings (workspace_id, video_id);
