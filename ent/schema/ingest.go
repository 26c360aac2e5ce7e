package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/vindex/vindex/ent/schema/ocrbox"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/role"
)

// videoOwned is the video_id field and edge of rows that belong to one video
// (and, through the workspace mixin, to its workspace).
func videoOwned(ref string) (ent.Field, ent.Edge) {
	return field.String("video_id").GoType(pulid.ID("")).Immutable(),
		edge.From("video", Video.Type).Ref(ref).Field("video_id").Unique().Required().Immutable()
}

// IngestStep is vindex's record of one pipeline step of one video: the truth
// about what is done, whatever the runner says. Steps skip work recorded here
// as SUCCEEDED, which is what makes a new attempt resume rather than restart.
type IngestStep struct{ ent.Schema }

func (IngestStep) Mixin() []ent.Mixin {
	return []ent.Mixin{idMixin{prefix: "stp"}, workspaceMixin{writeRole: role.Member}}
}

func (IngestStep) Fields() []ent.Field {
	videoID, _ := videoOwned("steps")
	return []ent.Field{
		videoID,
		field.String("name").NotEmpty(),
		field.Enum("status").
			Values("QUEUED", "RUNNING", "RETRYING", "SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED").
			Default("QUEUED"),
		field.Float("progress").Default(0).Comment("0 to 1"),
		field.Int("attempts").Default(0),
		field.String("error").Optional(),
		field.String("message").Optional().Comment("a note for people, e.g. why the step was skipped"),
		field.Int("run_attempt").Default(0).Comment("the pipeline attempt that last touched the step"),
		field.Time("started_at").Optional().Nillable(),
		field.Time("finished_at").Optional().Nillable(),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now),
	}
}

func (IngestStep) Edges() []ent.Edge {
	_, e := videoOwned("steps")
	return []ent.Edge{e}
}

func (IngestStep) Indexes() []ent.Index {
	return []ent.Index{index.Fields("video_id", "name").Unique()}
}

func (IngestStep) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// PipelineRun is one submission of a video's pipeline to the runner.
type PipelineRun struct{ ent.Schema }

func (PipelineRun) Mixin() []ent.Mixin {
	return []ent.Mixin{idMixin{prefix: "run"}, timeMixin{}, workspaceMixin{writeRole: role.Member}}
}

func (PipelineRun) Fields() []ent.Field {
	videoID, _ := videoOwned("runs")
	return []ent.Field{
		videoID,
		field.Int("attempt"),
		field.String("runner_id").Unique().Immutable().Comment("the dag-run id in Dagu"),
		field.Enum("status").Values("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "LOST").Default("QUEUED"),
		field.String("error").Optional(),
		field.Time("finished_at").Optional().Nillable(),
	}
}

func (PipelineRun) Edges() []ent.Edge {
	_, e := videoOwned("runs")
	return []ent.Edge{e}
}

func (PipelineRun) Indexes() []ent.Index {
	return []ent.Index{index.Fields("video_id", "attempt").Unique(), index.Fields("status")}
}

func (PipelineRun) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Keyframe is a still taken from a video at a scene change or interval.
type Keyframe struct{ ent.Schema }

func (Keyframe) Mixin() []ent.Mixin {
	return []ent.Mixin{idMixin{prefix: "kfr"}, workspaceMixin{writeRole: role.Member}}
}

func (Keyframe) Fields() []ent.Field {
	videoID, _ := videoOwned("keyframes")
	return []ent.Field{
		videoID,
		field.Int("ordinal"),
		field.Float("time_seconds"),
		field.String("blob_key"),
		field.Int("width"),
		field.Int("height"),
	}
}

func (Keyframe) Edges() []ent.Edge {
	_, e := videoOwned("keyframes")
	return []ent.Edge{e}
}

func (Keyframe) Indexes() []ent.Index {
	return []ent.Index{index.Fields("video_id", "ordinal").Unique()}
}

func (Keyframe) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// OCRText is the on-screen text read from one keyframe.
type OCRText struct{ ent.Schema }

func (OCRText) Mixin() []ent.Mixin {
	return []ent.Mixin{idMixin{prefix: "ocr"}, workspaceMixin{writeRole: role.Member}}
}

func (OCRText) Fields() []ent.Field {
	videoID, _ := videoOwned("ocr_texts")
	return []ent.Field{
		videoID,
		field.Float("time_seconds"),
		field.Int("keyframe_ordinal"),
		field.Text("text"),
		field.JSON("words", []ocrbox.Word{}).Optional(),
	}
}

func (OCRText) Edges() []ent.Edge {
	_, e := videoOwned("ocr_texts")
	return []ent.Edge{e}
}

func (OCRText) Indexes() []ent.Index {
	return []ent.Index{index.Fields("video_id", "keyframe_ordinal").Unique()}
}

func (OCRText) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// TranscriptSegment is a timed piece of a video's speech, as its
// transcriber heard it.
type TranscriptSegment struct{ ent.Schema }

func (TranscriptSegment) Mixin() []ent.Mixin {
	return []ent.Mixin{idMixin{prefix: "trs"}, workspaceMixin{writeRole: role.Member}}
}

func (TranscriptSegment) Fields() []ent.Field {
	videoID, _ := videoOwned("transcript_segments")
	return []ent.Field{
		videoID,
		field.Int("ordinal"),
		field.Float("start_seconds"),
		field.Float("end_seconds"),
		field.Text("text"),
	}
}

func (TranscriptSegment) Edges() []ent.Edge {
	_, e := videoOwned("transcript_segments")
	return []ent.Edge{e}
}

func (TranscriptSegment) Indexes() []ent.Index {
	return []ent.Index{index.Fields("video_id", "ordinal").Unique()}
}

func (TranscriptSegment) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
