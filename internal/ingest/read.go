package ingest

import (
	"context"
	"slices"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/ingeststep"
	"github.com/vindex/vindex/ent/keyframe"
	"github.com/vindex/vindex/ent/ocrtext"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/role"
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
