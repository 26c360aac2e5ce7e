-- modify "videos" table
ALTER TABLE "videos" ADD COLUMN "transcript_model" character varying NOT NULL DEFAULT '', ADD COLUMN "transcript_fallback" boolean NOT NULL DEFAULT false, ADD COLUMN "text_model" character varying NOT NULL DEFAULT '', ADD COLUMN "frame_model" character varying NOT NULL DEFAULT '';
-- create "transcript_segments" table
CREATE TABLE "transcript_segments" ("id" character varying NOT NULL, "workspace_id" character varying NOT NULL, "ordinal" bigint NOT NULL, "start_seconds" double precision NOT NULL, "end_seconds" double precision NOT NULL, "text" text NOT NULL, "video_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "transcript_segments_videos_transcript_segments" FOREIGN KEY ("video_id") REFERENCES "videos" ("id") ON UPDATE NO ACTION ON DELETE CASCADE);
-- create index "transcriptsegment_video_id_ordinal" to table: "transcript_segments"
CREATE UNIQUE INDEX "transcriptsegment_video_id_ordinal" ON "transcript_segments" ("video_id", "ordinal");
