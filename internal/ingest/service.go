// Package ingest owns getting a video from upload to indexed: uploads into
// blob storage, submitting the pipeline (pipelines/ingest.yaml) to the
// runner, the steps themselves (`vindex step`), their recorded state and
// live progress, and reconciling vindex's truth with the runner's.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/ingeststep"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/role"
	"github.com/vindex/vindex/ent/schema/viewer"
	"github.com/vindex/vindex/ent/video"
	"github.com/vindex/vindex/internal/apperr"
	"github.com/vindex/vindex/internal/auth"
	"github.com/vindex/vindex/internal/blob"
	"github.com/vindex/vindex/internal/runner"
	"github.com/vindex/vindex/internal/store"
	"github.com/vindex/vindex/pipelines"
)

// Runner is what ingest needs of the pipeline runner (Dagu's API).
type Runner interface {
	Enqueue(ctx context.Context, name, spec string, params map[string]string, runID, queue string) error
	Run(ctx context.Context, name, runID string) (*runner.Run, error)
	Stop(ctx context.Context, name, runID string) error
	Dequeue(ctx context.Context, name, runID string) error
}

// Service handles videos' ingest for the API.
type Service struct {
	db        *ent.Client
	blobs     blob.Store
	runner    Runner
	queue     string
	maxUpload int64
	spec      pipelines.Spec
	log       *slog.Logger
	recovery  recovery
	engines   Engines
}

// Config holds the ingest settings.
type Config struct {
	Queue          string // the runner queue ingest runs go to
	MaxUploadBytes int64
	Engines        Engines // the current model engines, to find videos indexed by others
}

// NewService returns the ingest service.
func NewService(db *ent.Client, blobs blob.Store, r Runner, cfg Config, log *slog.Logger) (*Service, error) {
	spec, err := pipelines.Parse(pipelines.Ingest)
	if err != nil {
		return nil, err
	}
	return &Service{db: db, blobs: blobs, runner: r, queue: cfg.Queue, maxUpload: cfg.MaxUploadBytes, spec: spec, log: log,
		engines: cfg.Engines, recovery: recovery{failedSince: map[string]timeSeen{}}}, nil
}

// ErrTooLarge is returned for an upload over the configured limit.
var ErrTooLarge = errors.New("upload too large")

// Upload stores a new video's file and queues its ingest. Needs MEMBER.
// The file is streamed to blob storage; an upload over the limit is refused
// and leaves nothing behind.
func (s *Service) Upload(ctx context.Context, ws pulid.ID, title, filename, contentType string, r io.Reader) (*ent.Video, error) {
	if err := auth.RequireRole(ctx, ws, role.Member); err != nil {
		return nil, err
	}
	title, err := videoTitle(title, filename)
	if err != nil {
		return nil, err
	}
	create := s.db.Video.Create().
		SetWorkspaceID(ws).SetTitle(title).
		SetOriginalFilename(truncate(filename, 500)).SetContentType(truncate(contentType, 200))
	if v := viewer.FromContext(ctx); v.UserID != "" {
		create.SetCreatedByID(v.UserID)
	}
	v, err := create.Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("create video: %w", err)
	}
	key := sourceKey(v)
	n, err := s.blobs.Put(ctx, key, &limitedReader{r: r, left: s.maxUpload}, contentType)
	if err != nil {
		cleanup := context.WithoutCancel(ctx)
		_ = s.blobs.Delete(cleanup, key)
		_ = s.db.Video.DeleteOne(v).Exec(system(cleanup))
		if errors.Is(err, ErrTooLarge) {
			return nil, apperr.Invalid("file", "the file is larger than the %d MiB limit", s.maxUpload>>20)
		}
		return nil, fmt.Errorf("store upload: %w", err)
	}
	v, err = s.db.Video.UpdateOne(v).SetSizeBytes(n).SetStorageKey(key).Save(system(ctx))
	if err != nil {
		return nil, err
	}
	if err := s.submit(ctx, v); err != nil {
		return nil, err
	}
	return s.db.Video.Get(ctx, v.ID)
}

// videoTitle is the title a new video gets: the one given, else the file's
// name.
func videoTitle(title, filename string) (string, error) {
	title = strings.TrimSpace(title)
	if title == "" {
		title = strings.TrimSpace(filename)
	}
	if title == "" {
		title = "Untitled video"
	}
	if utf8.RuneCountInString(title) > 300 {
		return "", apperr.Invalid("title", "title must be at most 300 characters")
	}
	return title, nil
}

// limitedReader fails with ErrTooLarge past its limit rather than
// truncating silently as io.LimitReader would.
type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			return 0, ErrTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// runID names a video's attempt in the runner: derived, so submitting the
// same attempt twice is harmless (the runner answers "already exists").
func runID(v pulid.ID, attempt int) string { return fmt.Sprintf("%s-a%d", v, attempt) }

// submit starts a new attempt of the video's pipeline: steps already done
// stay done, the rest are queued again, and the run goes to the runner.
func (s *Service) submit(ctx context.Context, v *ent.Video, redo ...string) error {
	ctx = system(ctx)
	var attempt int
	err := store.InTx(ctx, s.db, func(tx *ent.Tx) error {
		// Lock the video so two concurrent submissions cannot take the same attempt.
		cur, err := tx.Video.Query().Where(video.ID(v.ID)).ForUpdate().Only(ctx)
		if err != nil {
			return err
		}
		attempt = cur.IngestAttempt + 1
		if err := tx.Video.UpdateOne(cur).SetIngestAttempt(attempt).Exec(ctx); err != nil {
			return err
		}
		cur.IngestAttempt = attempt
		err = tx.PipelineRun.Create().
			SetWorkspaceID(cur.WorkspaceID).SetVideoID(cur.ID).
			SetAttempt(attempt).SetRunnerID(runID(cur.ID, attempt)).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("record run: %w", err)
		}
		if err := s.queueSteps(ctx, tx, cur, attempt, redo); err != nil {
			return err
		}
		*v = *cur
		return setVideo(ctx, tx, cur, video.StatusQUEUED, "", "")
	})
	if err != nil {
		return fmt.Errorf("submit ingest: %w", err)
	}
	s.enqueue(ctx, v.ID, attempt)
	return nil
}

// queueSteps makes sure every step of the pipeline has a row, and queues
// those not done and those to redo.
func (s *Service) queueSteps(ctx context.Context, tx *ent.Tx, v *ent.Video, attempt int, redo []string) error {
	existing, err := tx.IngestStep.Query().Where(ingeststep.VideoID(v.ID)).All(ctx)
	if err != nil {
		return err
	}
	have := map[string]*ent.IngestStep{}
	for _, st := range existing {
		have[st.Name] = st
	}
	for _, name := range s.spec.StepNames() {
		st, ok := have[name]
		if !ok {
			err := tx.IngestStep.Create().SetWorkspaceID(v.WorkspaceID).SetVideoID(v.ID).SetName(name).SetRunAttempt(attempt).Exec(ctx)
			if err != nil {
				return fmt.Errorf("create step %s: %w", name, err)
			}
			if err := notify(ctx, tx, Event{VideoID: v.ID, WorkspaceID: v.WorkspaceID, Step: name, Status: string(ingeststep.StatusQUEUED)}); err != nil {
				return err
			}
			continue
		}
		if (st.Status == ingeststep.StatusSUCCEEDED || st.Status == ingeststep.StatusSKIPPED) && !slices.Contains(redo, name) {
			continue
		}
		if err := setStep(ctx, tx, v, name, stepChange{Status: ingeststep.StatusQUEUED, Attempt: attempt}); err != nil {
			return err
		}
	}
	return nil
}

// enqueue hands the attempt to the runner. A runner that is down only gets
// a log line: the attempt is recorded, and the reconciler submits it again
// until the runner takes it. A runner that refuses the submission outright
// (the pipeline or its arguments are invalid) fails the video, since
// submitting again would be refused again.
func (s *Service) enqueue(ctx context.Context, id pulid.ID, attempt int) {
	params := map[string]string{"VIDEO_ID": string(id), "ATTEMPT": fmt.Sprint(attempt)}
	err := s.runner.Enqueue(ctx, s.spec.Name, pipelines.Ingest, params, runID(id, attempt), s.queue)
	var apiErr *runner.APIError
	switch {
	case err == nil || errors.Is(err, runner.ErrAlreadyExists):
	case errors.Is(err, runner.ErrInvalid) || (errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest):
		s.log.Error("the runner refused the pipeline", "video", id, "attempt", attempt, "err", err)
		if v, gerr := s.db.Video.Get(system(ctx), id); gerr == nil && v.IngestAttempt == attempt {
			if cerr := s.closeAttempt(ctx, v, video.StatusFAILED, "the pipeline runner refused the run: "+err.Error()); cerr != nil {
				s.log.Error("record refused pipeline", "video", id, "err", cerr)
			}
		}
	default:
		s.log.Warn("runner did not take the run yet; the reconciler will retry", "video", id, "attempt", attempt, "err", err)
	}
}

// visibleVideo loads a video through the viewer's privacy rules and checks
// the viewer may change it.
func (s *Service) visibleVideo(ctx context.Context, id pulid.ID, min role.Role) (*ent.Video, error) {
	v, err := s.db.Video.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := auth.RequireRole(ctx, v.WorkspaceID, min); err != nil {
		return nil, err
	}
	return v, nil
}

// Retry starts a new attempt of a FAILED or CANCELLED video, resuming at the
// first step not done. Needs MEMBER.
func (s *Service) Retry(ctx context.Context, id pulid.ID) (*ent.Video, error) {
	v, err := s.visibleVideo(ctx, id, role.Member)
	if err != nil {
		return nil, err
	}
	if v.Status != video.StatusFAILED && v.Status != video.StatusCANCELLED {
		return nil, apperr.New(apperr.Conflict, "only a failed or cancelled ingest can be retried (this one is %s)", v.Status)
	}
	if err := s.submit(ctx, v); err != nil {
		return nil, err
	}
	return s.db.Video.Get(ctx, id)
}

// Cancel stops a queued or running ingest. Needs MEMBER.
func (s *Service) Cancel(ctx context.Context, id pulid.ID) (*ent.Video, error) {
	v, err := s.visibleVideo(ctx, id, role.Member)
	if err != nil {
		return nil, err
	}
	if v.Status != video.StatusQUEUED && v.Status != video.StatusPROCESSING {
		return nil, apperr.New(apperr.Conflict, "only a queued or running ingest can be cancelled (this one is %s)", v.Status)
	}
	// Record first: steps that start after this see CANCELLED and do nothing.
	if err := s.closeAttempt(ctx, v, video.StatusCANCELLED, ""); err != nil {
		return nil, err
	}
	if err := s.runner.Stop(ctx, s.spec.Name, runID(v.ID, v.IngestAttempt)); err != nil && !errors.Is(err, runner.ErrNotFound) {
		s.log.Warn("stop run", "video", v.ID, "err", err)
	}
	return s.db.Video.Get(ctx, id)
}

func (s *Service) closeAttempt(ctx context.Context, v *ent.Video, status video.Status, reason string) error {
	steps, err := s.db.IngestStep.Query().Where(ingeststep.VideoID(v.ID)).All(system(ctx))
	if err != nil {
		return err
	}
	return store.InTx(ctx, s.db, func(tx *ent.Tx) error {
		return closeAttempt(ctx, tx, v, steps, v.IngestAttempt, status, reason)
	})
}

// Delete removes a video with its files, rows and vectors. Needs MEMBER.
func (s *Service) Delete(ctx context.Context, id pulid.ID) error {
	v, err := s.visibleVideo(ctx, id, role.Member)
	if err != nil {
		return err
	}
	if v.Status == video.StatusQUEUED || v.Status == video.StatusPROCESSING {
		if err := s.runner.Stop(ctx, s.spec.Name, runID(v.ID, v.IngestAttempt)); err != nil && !errors.Is(err, runner.ErrNotFound) {
			s.log.Warn("stop run of deleted video", "video", v.ID, "err", err)
		}
	}
	// Rows first (steps still running find the video gone and stop), then
	// files; vectors go with the rows (ON DELETE CASCADE).
	if err := s.db.Video.DeleteOne(v).Exec(ctx); err != nil {
		return fmt.Errorf("delete video: %w", err)
	}
	if err := s.blobs.DeletePrefix(context.WithoutCancel(ctx), videoPrefix(v)); err != nil {
		s.log.Error("delete video files", "video", v.ID, "err", err)
	}
	return nil
}

// Get returns a video the viewer can see.
func (s *Service) Get(ctx context.Context, id pulid.ID) (*ent.Video, error) {
	return s.db.Video.Get(ctx, id)
}
