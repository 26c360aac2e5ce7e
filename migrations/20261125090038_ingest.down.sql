-- reverse: create index "pipelinerun_video_id_attempt" to table: "pipeline_runs"
DROP INDEX "pipelinerun_video_id_attempt";
-- reverse: create index "pipelinerun_status" to table: "pipeline_runs"
DROP INDEX "pipelinerun_status";
-- reverse: create index "pipeline_runs_runner_id_key" to table: "pipeline_runs"
DROP INDEX "pipeline_runs_runner_id_key";
-- reverse: create "pipeline_runs" table
DROP TABLE "pipeline_runs";
-- reverse: create index "ocrtext_video_id_keyframe_ordinal" to table: "ocr_texts"
DROP INDEX "ocrtext_video_id_keyframe_ordinal";
-- reverse: create "ocr_texts" table
DROP TABLE "ocr_texts";
-- reverse: create index "keyframe_video_id_ordinal" to table: "keyframes"
DROP INDEX "keyframe_video_id_ordinal";
-- reverse: create "keyframes" table
DROP TABLE "keyframes";
-- reverse: create index "ingeststep_video_id_name" to table: "ingest_steps"
DROP INDEX "ingeststep_video_id_name";
-- reverse: create "ingest_steps" table
DROP TABLE "ingest_steps";
-- reverse: modify "videos" table
ALTER TABLE "videos" DROP COLUMN "media_info", DROP COLUMN "has_audio", DROP COLUMN "height", DROP COLUMN "width", DROP COLUMN "original_filename", DROP COLUMN "ingest_attempt", DROP COLUMN "failed_step", DROP COLUMN "error";
