package ingest

import (
	"context"
	"slices"
	"strings"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/ingeststep"
	"github.com/vindex/vindex/ent/keyframe"
	"github.com/vindex/vindex/ent/ocrtext"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/role"
	"github.com/vindex/vindex/ent/transcriptsegment"
	"github.com/vindex/vindex/internal/auth"
)

// Steps returns a video's steps in pipeline order. Reads go through the
// viewer's privacy rules like every other read.
func (s *Service) Steps(ctx context.Context, videoID pulid.ID) ([]*ent.IngestStep, error) {
	steps, err := s.db.IngestStep.Query().Where(ingeststep.VideoID(videoID)).All(ctx)
	if err != nil {
		return nil, err
	}
	order := s.spec.StepNames()
	slices.SortStableFunc(steps, func(a, b *ent.IngestStep) int {
		return slices.Index(order, a.Name) - slices.Index(order, b.Name)
	})
	return steps, nil
}

// Keyframes returns a video's keyframes in time order.
func (s *Service) Keyframes(ctx context.Context, videoID pulid.ID) ([]*ent.Keyframe, error) {
	return s.db.Keyframe.Query().Where(keyframe.VideoID(videoID)).Order(ent.Asc(keyframe.FieldOrdinal)).All(ctx)
}

// Thumbnail returns a video's first keyframe, or nil before there is one.
func (s *Service) Thumbnail(ctx context.Context, videoID pulid.ID) (*ent.Keyframe, error) {
	k, err := s.db.Keyframe.Query().Where(keyframe.VideoID(videoID)).Order(ent.Asc(keyframe.FieldOrdinal)).First(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return k, err
}

// OCR returns the on-screen text of a video in time order.
func (s *Service) OCR(ctx context.Context, videoID pulid.ID) ([]*ent.OCRText, error) {
	return s.db.OCRText.Query().Where(ocrtext.VideoID(videoID)).
		Order(ent.Asc(ocrtext.FieldTimeSeconds), ent.Asc(ocrtext.FieldKeyframeOrdinal)).All(ctx)
}

// WatchVideo streams a video's ingest events to a viewer who can see it.
func (s *Service) WatchVideo(ctx context.Context, hub *Hub, videoID pulid.ID) (<-chan *Event, error) {
	if _, err := s.db.Video.Get(ctx, videoID); err != nil {
		return nil, err
	}
	return hub.Subscribe(ctx, func(e Event) bool { return e.VideoID == videoID }), nil
}

// WatchWorkspace streams the ingest events of every video in a workspace.
func (s *Service) WatchWorkspace(ctx context.Context, hub *Hub, ws pulid.ID) (<-chan *Event, error) {
	if err := auth.RequireRole(ctx, ws, role.Viewer); err != nil {
		return nil, err
	}
	return hub.Subscribe(ctx, func(e Event) bool { return e.WorkspaceID == ws }), nil
}

// Transcript is a video's transcript and the engine that made it.
type Transcript struct {
	Model    string
	Fallback bool
	Segments []*ent.TranscriptSegment
}

// Transcript returns the video's transcript, or nil before there is one.
func (s *Service) Transcript(ctx context.Context, v *ent.Video) (*Transcript, error) {
	if v.TranscriptModel == "" {
		return nil, nil
	}
	segs, err := s.db.TranscriptSegment.Query().Where(transcriptsegment.VideoID(v.ID)).
		Order(ent.Asc(transcriptsegment.FieldOrdinal)).All(ctx)
	if err != nil {
		return nil, err
	}
	return &Transcript{Model: v.TranscriptModel, Fallback: v.TranscriptFallback, Segments: segs}, nil
}

// ModalityIndex says whether one kind of content is searchable, and by what.
type ModalityIndex struct {
	Indexed  bool
	Model    *string
	Fallback bool
	Reason   *string
}

// Capabilities says which modalities of a video are searchable.
type Capabilities struct {
	Speech, OnScreenText, Visual ModalityIndex
}

// Capabilities derives a video's searchable modalities from the models
// that indexed it and, for what is not indexed, the reason its steps gave.
func (s *Service) Capabilities(ctx context.Context, v *ent.Video) (*Capabilities, error) {
	steps, err := s.db.IngestStep.Query().Where(ingeststep.VideoID(v.ID)).All(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]*ent.IngestStep{}
	for _, st := range steps {
		byName[st.Name] = st
	}
	// why is the first reason a step on the modality's path gives for not
	// having done its work.
	why := func(names ...string) *string {
		for _, n := range names {
			st := byName[n]
			switch {
			case st == nil:
			case st.Status == ingeststep.StatusSKIPPED && st.Message != "":
				return &st.Message
			case st.Status == ingeststep.StatusFAILED && st.Error != "":
				msg := n + " failed: " + st.Error
				return &msg
			case st.Status != ingeststep.StatusSUCCEEDED:
				msg := n + " is " + strings.ToLower(string(st.Status))
				return &msg
			}
		}
		msg := "not indexed"
		return &msg
	}
	modality := func(model string, indexed, fallback bool, path ...string) ModalityIndex {
		if !indexed {
			return ModalityIndex{Reason: why(path...)}
		}
		return ModalityIndex{Indexed: true, Model: &model, Fallback: fallback}
	}
	ocr := byName["ocr"]
	hasScreenText := ocr != nil && ocr.Status == ingeststep.StatusSUCCEEDED
	if hasScreenText {
		n, err := s.db.OCRText.Query().Where(ocrtext.VideoID(v.ID)).Count(ctx)
		if err != nil {
			return nil, err
		}
		hasScreenText = n > 0
	}
	// Transcripts and on-screen text are searchable by their words once
	// they exist; by meaning only with text vectors.
	screenModel := "tesseract"
	if v.TextModel != "" {
		screenModel += "+" + v.TextModel
	}
	c := &Capabilities{
		Speech:       modality(v.TranscriptModel, v.TranscriptModel != "", v.TranscriptFallback, "audio", "transcribe"),
		OnScreenText: modality(screenModel, hasScreenText, false, "keyframes", "ocr"),
		Visual:       modality(v.FrameModel, v.FrameModel != "", false, "keyframes", "embed-frames"),
	}
	if !hasScreenText && ocr != nil && ocr.Status == ingeststep.StatusSUCCEEDED {
		msg := "no on-screen text was found"
		c.OnScreenText.Reason = &msg
	}
	if v.TextModel == "" {
		for _, m := range []*ModalityIndex{&c.Speech, &c.OnScreenText} {
			if m.Indexed {
				m.Reason = why("embed-text")
			}
		}
	}
	return c, nil
}
