package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/role"
)

// Video is an uploaded file and the state of its ingest.
type Video struct{ ent.Schema }

func (Video) Mixin() []ent.Mixin {
	return []ent.Mixin{idMixin{prefix: "vid"}, timeMixin{}, workspaceMixin{writeRole: role.Member}}
}

func (Video) Fields() []ent.Field {
	return []ent.Field{
		field.String("title").NotEmpty().MaxLen(300).
			Annotations(entgql.OrderField("TITLE")),
		field.Enum("status").
			Values("UPLOADING", "QUEUED", "PROCESSING", "SUCCEEDED", "FAILED", "CANCELLED").
			Default("UPLOADING").
			Annotations(entgql.Type("VideoStatus")),
		field.String("error").Optional().
			Comment("why ingest failed, for people"),
		field.String("failed_step").Optional(),
		field.Int("ingest_attempt").Default(0).
			Comment("the pipeline attempt in force; each retry or recovery starts a new one").
			Annotations(entgql.Skip()),
		field.String("original_filename").Default("").MaxLen(500),
		field.Int("width").Optional().Nillable(),
		field.Int("height").Optional().Nillable(),
		field.Bool("has_audio").Optional().Nillable(),
		field.JSON("media_info", map[string]any{}).Optional().
			Comment("what ffprobe found").
			Annotations(entgql.Skip()),
		field.Int64("size_bytes").NonNegative().Default(0).
			Annotations(entgql.Type("Int")),
		field.String("content_type").Default("").MaxLen(200),
		field.Float("duration_seconds").Optional().Nillable(),
		field.String("storage_key").Default("").Annotations(entgql.Skip()),
		// The models that indexed this video ("name@version"; empty: that
		// modality is not indexed), so a model change is detected and the
		// video re-indexed.
		field.String("transcript_model").Default("").Annotations(entgql.Skip()),
		field.Bool("transcript_fallback").Default(false).Annotations(entgql.Skip()),
		field.String("text_model").Default("").Annotations(entgql.Skip()),
		field.String("frame_model").Default("").Annotations(entgql.Skip()),
		field.String("created_by_id").GoType(pulid.ID("")).Optional().Immutable().
			Annotations(entgql.Skip()),
	}
}

func (Video) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("workspace", Workspace.Type).Ref("videos").Field("workspace_id").
			Unique().Required().Immutable(),
		edge.To("created_by", User.Type).Field("created_by_id").Unique().Immutable().
			Annotations(entsql.OnDelete(entsql.SetNull)),
		edge.To("steps", IngestStep.Type).
			Annotations(entsql.OnDelete(entsql.Cascade), entgql.Skip()),
		edge.To("runs", PipelineRun.Type).
			Annotations(entsql.OnDelete(entsql.Cascade), entgql.Skip()),
		edge.To("keyframes", Keyframe.Type).
			Annotations(entsql.OnDelete(entsql.Cascade), entgql.Skip()),
		edge.To("ocr_texts", OCRText.Type).
			Annotations(entsql.OnDelete(entsql.Cascade), entgql.Skip()),
		edge.To("transcript_segments", TranscriptSegment.Type).
			Annotations(entsql.OnDelete(entsql.Cascade), entgql.Skip()),
	}
}

func (Video) Indexes() []ent.Index {
	return []ent.Index{index.Fields("workspace_id", "created_at")}
}

func (Video) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}
