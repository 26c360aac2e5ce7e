package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/role"
	"github.com/vindex/vindex/ent/video"
	"github.com/vindex/vindex/internal/apperr"
	"github.com/vindex/vindex/internal/auth"
	"github.com/vindex/vindex/internal/models/engine"
)

// reindexSteps run again on a reindex: the model steps, and the final step,
// whose success is the video's.
var reindexSteps = append(slices.Clone(ModelSteps), finalStep)

// Reindex runs a video's model steps again (transcription and embeddings)
// with the engines configured now, and whatever else its last attempt did
// not finish. The old transcript and vectors stay searchable until the new
// ones replace them, each in one transaction. Needs MEMBER.
func (s *Service) Reindex(ctx context.Context, id pulid.ID) (*ent.Video, error) {
	v, err := s.visibleVideo(ctx, id, role.Member)
	if err != nil {
		return nil, err
	}
	switch v.Status {
	case video.StatusSUCCEEDED, video.StatusFAILED, video.StatusCANCELLED:
	default:
		return nil, apperr.New(apperr.Conflict, "the video is still being ingested (%s); reindex it when it is done", v.Status)
	}
	if err := s.submit(ctx, v, reindexSteps...); err != nil {
		return nil, err
	}
	return s.db.Video.Get(ctx, id)
}

// ReindexWorkspace reindexes the workspace's finished videos: all of them,
// or (staleOnly) those indexed by other models than the engines configured
// now, or not indexed in a modality that an engine can serve now. It
// returns how many it submitted. Needs ADMIN.
func (s *Service) ReindexWorkspace(ctx context.Context, ws pulid.ID, staleOnly bool) (int, error) {
	if err := auth.RequireRole(ctx, ws, role.Admin); err != nil {
		return 0, err
	}
	var current indexedBy
	if staleOnly {
		var err error
		if current, err = s.currentModels(ctx); err != nil {
			return 0, err
		}
	}
	videos, err := s.db.Video.Query().Where(video.WorkspaceID(ws), video.StatusIn(video.StatusSUCCEEDED, video.StatusFAILED, video.StatusCANCELLED)).All(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, v := range videos {
		if staleOnly && !current.differs(indexedBy{transcript: v.TranscriptModel, text: v.TextModel, frames: v.FrameModel}) {
			continue
		}
		if err := s.submit(ctx, v, reindexSteps...); err != nil {
			return n, fmt.Errorf("reindex %s: %w", v.ID, err)
		}
		n++
	}
	return n, nil
}

// indexedBy names the model of each modality ("" for none).
type indexedBy struct{ transcript, text, frames string }

// differs: the video's index (v) lacks or predates an engine available now.
func (c indexedBy) differs(v indexedBy) bool {
	return (c.transcript != "" && c.transcript != v.transcript) ||
		(c.text != "" && c.text != v.text) ||
		(c.frames != "" && c.frames != v.frames)
}

// currentModels loads the engines configured now; an unavailable one is "".
func (s *Service) currentModels(ctx context.Context) (indexedBy, error) {
	if s.engines == nil {
		return indexedBy{}, errors.New("reindex: no model engines configured")
	}
	var c indexedBy
	id := func(e interface{ ID() string }, err error) (string, error) {
		if errors.Is(err, engine.ErrUnavailable) {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		return e.ID(), nil
	}
	t, err := s.engines.Transcriber(ctx)
	if c.transcript, err = id(t, err); err != nil {
		return c, err
	}
	te, err := s.engines.TextEmbedder(ctx)
	if c.text, err = id(te, err); err != nil {
		return c, err
	}
	ie, err := s.engines.ImageEmbedder(ctx)
	c.frames, err = id(ie, err)
	return c, err
}
