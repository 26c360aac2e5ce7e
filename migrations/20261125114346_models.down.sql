-- reverse: create index "transcriptsegment_video_id_ordinal" to table: "transcript_segments"
DROP INDEX "transcriptsegment_video_id_ordinal";
-- reverse: create "transcript_segments" table
DROP TABLE "transcript_segments";
-- reverse: modify "videos" table
ALTER TABLE "videos" DROP COLUMN "frame_model", DROP COLUMN "text_model", DROP COLUMN "transcript_fallback", DROP COLUMN "transcript_model";
