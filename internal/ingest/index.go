package ingest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/keyframe"
	"github.com/vindex/vindex/ent/ocrtext"
	"github.com/vindex/vindex/ent/transcriptsegment"
	"github.com/vindex/vindex/internal/blob"
	"github.com/vindex/vindex/internal/models/engine"
	"github.com/vindex/vindex/internal/models/openai"
	"github.com/vindex/vindex/internal/store"
	"github.com/vindex/vindex/internal/vectors"
)

// Engines hands the model steps their engines; *engine.Engines in
// production.
type Engines interface {
	Transcriber(context.Context) (engine.Transcriber, error)
	TextEmbedder(context.Context) (engine.TextEmbedder, error)
	ImageEmbedder(context.Context) (engine.ImageEmbedder, error)
}

// ModelSteps are the steps that need a model: a reindex runs them again.
var ModelSteps = []string{"transcribe", "embed-text", "embed-frames"}

// modelError classifies an engine's failure: no engine is a skip with the
// reason; a request the provider refuses (bad key, unknown model) fails for
// good, as retrying would be refused the same way.
func modelError(what string, err error) error {
	switch {
	case errors.Is(err, engine.ErrUnavailable):
		return errSkipped{what + " not indexed: " + engine.Reason(err)}
	case errors.Is(err, openai.ErrAuth), errors.Is(err, openai.ErrRequest), errors.Is(err, openai.ErrDimensions):
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	return err
}

func (s *Steps) transcribe(ctx context.Context, j *job) error {
	if j.video.HasAudio != nil && !*j.video.HasAudio {
		return errSkipped{"the file has no audio stream"}
	}
	t, err := s.Models.Transcriber(ctx)
	if err != nil {
		return modelError("speech", err)
	}
	wav := filepath.Join(j.dir, "audio.wav")
	err = blob.Fetch(ctx, s.Blobs, audioKey(j.video), wav)
	if errors.Is(err, blob.ErrNotFound) {
		return errSkipped{"no audio was extracted"}
	}
	if err != nil {
		return fmt.Errorf("fetch audio: %w", err)
	}
	segs, err := t.Transcribe(ctx, wav, j.mediaProgress(0.95))
	if err != nil {
		return modelError("speech", fmt.Errorf("transcribe with %s: %w", t.ID(), err))
	}
	if t.Fallback() {
		j.note = fmt.Sprintf("transcribed by the offline fallback %s, which is much weaker than Whisper; install Whisper (vindex models pull) and reindex for a better transcript", t.ID())
	}
	return store.InTx(ctx, s.DB, func(tx *ent.Tx) error {
		sctx := system(ctx)
		if _, err := tx.TranscriptSegment.Delete().Where(transcriptsegment.VideoID(j.video.ID)).Exec(sctx); err != nil {
			return err
		}
		creates := make([]*ent.TranscriptSegmentCreate, 0, len(segs))
		for _, sg := range segs {
			text := strings.TrimSpace(sg.Text)
			if text == "" {
				continue
			}
			creates = append(creates, tx.TranscriptSegment.Create().
				SetWorkspaceID(j.video.WorkspaceID).SetVideoID(j.video.ID).
				SetOrdinal(len(creates)).SetStartSeconds(sg.Start).SetEndSeconds(sg.End).SetText(text))
		}
		if err := inBatches(creates, func(b []*ent.TranscriptSegmentCreate) error {
			return tx.TranscriptSegment.CreateBulk(b...).Exec(sctx)
		}); err != nil {
			return err
		}
		return tx.Video.UpdateOneID(j.video.ID).SetTranscriptModel(t.ID()).SetTranscriptFallback(t.Fallback()).Exec(sctx)
	})
}

// embedBatch is how many inputs go to an embedder at once, so progress
// moves and a long video's texts are not one giant request.
const embedBatch = 64

// embedAll embeds inputs in batches, reporting progress.
func embedAll(ctx context.Context, j *job, inputs []string, fn func(context.Context, []string) ([][]float32, error)) ([][]float32, error) {
	out := make([][]float32, 0, len(inputs))
	for start := 0; start < len(inputs); start += embedBatch {
		vecs, err := fn(ctx, inputs[start:min(len(inputs), start+embedBatch)])
		if err != nil {
			return nil, err
		}
		out = append(out, vecs...)
		j.progress(0.95 * float64(len(out)) / float64(len(inputs)))
	}
	if len(out) != len(inputs) {
		return nil, fmt.Errorf("the embedder returned %d vectors for %d inputs", len(out), len(inputs))
	}
	return out, nil
}

// textPassages are what a video's text vectors index: each transcript
// segment, and each stretch of keyframes showing the same on-screen text.
func (s *Steps) textPassages(ctx context.Context, j *job) ([]vectors.TextRow, error) {
	sctx := system(ctx)
	segs, err := s.DB.TranscriptSegment.Query().Where(transcriptsegment.VideoID(j.video.ID)).
		Order(ent.Asc(transcriptsegment.FieldOrdinal)).All(sctx)
	if err != nil {
		return nil, err
	}
	var rows []vectors.TextRow
	for _, sg := range segs {
		rows = append(rows, vectors.TextRow{Source: vectors.Speech, Start: sg.StartSeconds, End: sg.EndSeconds, Content: sg.Text})
	}
	ocr, err := s.DB.OCRText.Query().Where(ocrtext.VideoID(j.video.ID)).Order(ent.Asc(ocrtext.FieldKeyframeOrdinal)).All(sctx)
	if err != nil {
		return nil, err
	}
	frames, err := s.DB.Keyframe.Query().Where(keyframe.VideoID(j.video.ID)).Order(ent.Asc(keyframe.FieldOrdinal)).All(sctx)
	if err != nil {
		return nil, err
	}
	// A keyframe's text is on screen until the next keyframe.
	until := map[int]float64{}
	for i, f := range frames {
		end := f.TimeSeconds
		if i+1 < len(frames) {
			end = frames[i+1].TimeSeconds
		} else if d := j.video.DurationSeconds; d != nil {
			end = max(end, *d)
		}
		until[f.Ordinal] = end
	}
	for _, o := range ocr {
		text := strings.Join(strings.Fields(o.Text), " ")
		end := max(until[o.KeyframeOrdinal], o.TimeSeconds)
		if n := len(rows); n > 0 && rows[n-1].Source == vectors.Screen && rows[n-1].Content == text {
			rows[n-1].End = end // the same text still on screen
			continue
		}
		rows = append(rows, vectors.TextRow{Source: vectors.Screen, Start: o.TimeSeconds, End: end, Content: text})
	}
	return rows, nil
}

func (s *Steps) embedText(ctx context.Context, j *job) error {
	rows, err := s.textPassages(ctx, j)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return errSkipped{"there is no speech or on-screen text to index"}
	}
	e, err := s.Models.TextEmbedder(ctx)
	if errors.Is(err, engine.ErrUnavailable) && j.video.TextModel == "" {
		// Without vectors the passages are still indexed for their words
		// (a video indexed by a model keeps its vectors instead).
		if err := s.replaceText(ctx, j, "", rows); err != nil {
			return err
		}
		return errSkipped{"text vectors not made (the words are searchable): " + engine.Reason(err)}
	}
	if err != nil {
		return modelError("text", err)
	}
	inputs := make([]string, len(rows))
	for i, r := range rows {
		inputs[i] = r.Content
	}
	vecs, err := embedAll(ctx, j, inputs, e.Embed)
	if err != nil {
		return modelError("text", fmt.Errorf("embed with %s: %w", e.ID(), err))
	}
	for i := range rows {
		rows[i].Embedding = vecs[i]
	}
	return s.replaceText(ctx, j, e.ID(), rows)
}

// replaceText makes rows the video's text passages, embedded by model ("":
// not embedded), in one transaction.
func (s *Steps) replaceText(ctx context.Context, j *job, model string, rows []vectors.TextRow) error {
	return store.InTx(ctx, s.DB, func(tx *ent.Tx) error {
		if err := vectors.ReplaceText(ctx, tx, j.video.WorkspaceID, j.video.ID, model, []string{vectors.Speech, vectors.Screen}, rows); err != nil {
			return err
		}
		return tx.Video.UpdateOneID(j.video.ID).SetTextModel(model).Exec(system(ctx))
	})
}

func (s *Steps) embedFrames(ctx context.Context, j *job) error {
	frames, err := s.DB.Keyframe.Query().Where(keyframe.VideoID(j.video.ID)).
		Order(ent.Asc(keyframe.FieldOrdinal)).All(system(ctx))
	if err != nil {
		return err
	}
	if len(frames) == 0 {
		return errSkipped{"there are no keyframes to index"}
	}
	e, err := s.Models.ImageEmbedder(ctx)
	if err != nil {
		return modelError("frames", err)
	}
	paths := make([]string, len(frames))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	var mu sync.Mutex
	fetched := 0
	for i, f := range frames {
		g.Go(func() error {
			paths[i] = filepath.Join(j.dir, fmt.Sprintf("%05d.jpg", i))
			if err := blob.Fetch(gctx, s.Blobs, f.BlobKey, paths[i]); err != nil {
				return fmt.Errorf("fetch keyframe %d: %w", i, err)
			}
			mu.Lock()
			fetched++
			j.progress(0.2 * float64(fetched) / float64(len(frames)))
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	vecs, err := embedAll(ctx, j, paths, e.EmbedImages)
	if err != nil {
		return modelError("frames", fmt.Errorf("embed with %s: %w", e.ID(), err))
	}
	rows := make([]vectors.FrameRow, len(frames))
	for i, f := range frames {
		rows[i] = vectors.FrameRow{Time: f.TimeSeconds, Embedding: vecs[i]}
	}
	return store.InTx(ctx, s.DB, func(tx *ent.Tx) error {
		if err := vectors.ReplaceFrames(ctx, tx, j.video.WorkspaceID, j.video.ID, e.ID(), rows); err != nil {
			return err
		}
		return tx.Video.UpdateOneID(j.video.ID).SetFrameModel(e.ID()).Exec(system(ctx))
	})
}
