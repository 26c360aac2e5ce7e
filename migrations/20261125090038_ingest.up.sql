-- modify "videos" table
ALTER TABLE "videos" ADD COLUMN "error" character varying NULL, ADD COLUMN "failed_step" character varying NULL, ADD COLUMN "ingest_attempt" bigint NOT NULL DEFAULT 0, ADD COLUMN "original_filename" character varying NOT NULL DEFAULT '', ADD COLUMN "width" bigint NULL, ADD COLUMN "height" bigint NULL, ADD COLUMN "has_audio" boolean NULL, ADD COLUMN "media_info" jsonb NULL;
-- create "ingest_steps" table
CREATE TABLE "ingest_steps" ("id" character varying NOT NULL, "workspace_id" character varying NOT NULL, "name" character varying NOT NULL, "status" character varying NOT NULL DEFAULT 'QUEUED', "progress" double precision NOT NULL DEFAULT 0, "attempts" bigint NOT NULL DEFAULT 0, "error" character varying NULL, "message" character varying NULL, "run_attempt" bigint NOT NULL DEFAULT 0, "started_at" timestamptz NULL, "finished_at" timestamptz NULL, "updated_at" timestamptz NOT NULL, "video_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "ingest_steps_videos_steps" FOREIGN KEY ("video_id") REFERENCES "videos" ("id") ON UPDATE NO ACTION ON DELETE CASCADE);
-- create index "ingeststep_video_id_name" to table: "ingest_steps"
CREATE UNIQUE INDEX "ingeststep_video_id_name" ON "ingest_steps" ("video_id", "name");
-- create "keyframes" table
CREATE TABLE "keyframes" ("id" character varying NOT NULL, "workspace_id" character varying NOT NULL, "ordinal" bigint NOT NULL, "time_seconds" double precision NOT NULL, "blob_key" character varying NOT NULL, "width" bigint NOT NULL, "height" bigint NOT NULL, "video_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "keyframes_videos_keyframes" FOREIGN KEY ("video_id") REFERENCES "videos" ("id") ON UPDATE NO ACTION ON DELETE CASCADE);
-- create index "keyframe_video_id_ordinal" to table: "keyframes"
CREATE UNIQUE INDEX "keyframe_video_id_ordinal" ON "keyframes" ("video_id", "ordinal");
-- create "ocr_texts" table
CREATE TABLE "ocr_texts" ("id" character varying NOT NULL, "workspace_id" character varying NOT NULL, "time_seconds" double precision NOT NULL, "keyframe_ordinal" bigint NOT NULL, "text" text NOT NULL, "words" jsonb NULL, "video_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "ocr_texts_videos_ocr_texts" FOREIGN KEY ("video_id") REFERENCES "videos" ("id") ON UPDATE NO ACTION ON DELETE CASCADE);
-- create index "ocrtext_video_id_keyframe_ordinal" to table: "ocr_texts"
CREATE UNIQUE INDEX "ocrtext_video_id_keyframe_ordinal" ON "ocr_texts" ("video_id", "keyframe_ordinal");
-- create "pipeline_runs" table
CREATE TABLE "pipeline_runs" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "workspace_id" character varying NOT NULL, "attempt" bigint NOT NULL, "runner_id" character varying NOT NULL, "status" character varying NOT NULL DEFAULT 'QUEUED', "error" character varying NULL, "finished_at" timestamptz NULL, "video_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "pipeline_runs_videos_runs" FOREIGN KEY ("video_id") REFERENCES "videos" ("id") ON UPDATE NO ACTION ON DELETE CASCADE);
-- create index "pipeline_runs_runner_id_key" to table: "pipeline_runs"
CREATE UNIQUE INDEX "pipeline_runs_runner_id_key" ON "pipeline_runs" ("runner_id");
-- create index "pipelinerun_status" to table: "pipeline_runs"
CREATE INDEX "pipelinerun_status" ON "pipeline_runs" ("status");
-- create index "pipelinerun_video_id_attempt" to table: "pipeline_runs"
CREATE UNIQUE INDEX "pipelinerun_video_id_attempt" ON "pipeline_runs" ("video_id", "attempt");
