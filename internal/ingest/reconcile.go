package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/ingeststep"
	"github.com/vindex/vindex/ent/pipelinerun"
	"github.com/vindex/vindex/ent/video"
	"github.com/vindex/vindex/internal/runner"
)

// Dagu's run statuses (dagRunDetails.status) that the reconciler acts on;
// the others (not started, queued, waiting) mean "not yet".
const (
	daguRunning   = 1
	daguFailed    = 2
	daguAborted   = 3
	daguSucceeded = 4
	daguPartial   = 6
	daguRejected  = 8
)

const (
	// failedGrace is how long a run must look failed before vindex acts:
	// Dagu shows "failed" briefly before "succeeded", and the failure
	// handler needs a moment to record the outcome itself.
	failedGrace = 10 * time.Second
	// resubmitAfter is how long a recorded attempt may be unknown to the
	// runner (it was down when we submitted) before it is submitted again.
	resubmitAfter = 10 * time.Second
	// maxLostRuns bounds how often the runner may lose a video's run before
	// the video is failed rather than tried again.
	maxLostRuns = 3
)

type timeSeen struct{ at time.Time }

type recovery struct {
	mu          sync.Mutex
	failedSince map[string]timeSeen
}

// RunReconciler reconciles every interval until ctx ends.
func (s *Service) RunReconciler(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("reconcile ingest runs", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// activeRuns are the current attempts of videos that are queued or running.
func (s *Service) activeRuns(ctx context.Context) ([]*ent.PipelineRun, error) {
	runs, err := s.db.PipelineRun.Query().
		Where(
			pipelinerun.StatusIn(pipelinerun.StatusQUEUED, pipelinerun.StatusRUNNING),
			pipelinerun.HasVideoWith(video.StatusIn(video.StatusQUEUED, video.StatusPROCESSING)),
		).
		WithVideo().
		All(system(ctx))
	if err != nil {
		return nil, fmt.Errorf("list active runs: %w", err)
	}
	current := runs[:0]
	for _, r := range runs {
		if r.Edges.Video.IngestAttempt == r.Attempt {
			current = append(current, r)
		}
	}
	return current, nil
}

// Reconcile compares each active attempt with the runner's view and repairs
// what the runner lost: an attempt it never received is submitted again; an
// attempt that died outside a step (runner killed, machine restarted)
// becomes a new attempt that skips the steps already done.
func (s *Service) Reconcile(ctx context.Context) error {
	runs, err := s.activeRuns(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range runs {
		if err := s.reconcileRun(ctx, r); err != nil {
			errs = append(errs, fmt.Errorf("video %s: %w", r.VideoID, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) reconcileRun(ctx context.Context, r *ent.PipelineRun) error {
	v := r.Edges.Video
	dr, err := s.runner.Run(ctx, s.spec.Name, r.RunnerID)
	switch {
	case errors.Is(err, runner.ErrNotFound):
		if time.Since(r.CreatedAt) > resubmitAfter {
			s.enqueue(ctx, v.ID, r.Attempt)
		}
		return nil
	case err != nil:
		return err
	}
	switch dr.Status {
	case daguRunning:
		if r.Status != pipelinerun.StatusRUNNING {
			return s.db.PipelineRun.UpdateOne(r).SetStatus(pipelinerun.StatusRUNNING).Exec(system(ctx))
		}
		return nil
	case daguSucceeded, daguPartial:
		// finalize records success itself; a run that ended without it
		// lost its last steps.
		return s.recover(ctx, v, r, "the runner finished without recording the result")
	case daguFailed, daguAborted, daguRejected:
		if !s.recovery.failedFor(r.RunnerID, failedGrace) {
			return nil
		}
		return s.recover(ctx, v, r, fmt.Sprintf("the runner reported the run %s outside any step", dr.StatusLabel))
	}
	return nil // queued, waiting, not started: nothing to do yet
}

// failedFor reports whether id has been seen failed for at least d.
func (rc *recovery) failedFor(id string, d time.Duration) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	seen, ok := rc.failedSince[id]
	if !ok {
		rc.failedSince[id] = timeSeen{at: time.Now()}
		return false
	}
	if time.Since(seen.at) < d {
		return false
	}
	delete(rc.failedSince, id)
	return true
}

// recover ends an attempt the runner lost. A step that failed for good
// fails the video; otherwise a new attempt resumes the work, up to
// maxLostRuns times.
func (s *Service) recover(ctx context.Context, v *ent.Video, r *ent.PipelineRun, why string) error {
	v, err := s.db.Video.Get(system(ctx), v.ID)
	if err != nil || v.IngestAttempt != r.Attempt || (v.Status != video.StatusQUEUED && v.Status != video.StatusPROCESSING) {
		return err // gone, superseded or settled meanwhile
	}
	permanent, err := s.db.IngestStep.Query().
		Where(ingeststep.VideoID(v.ID), ingeststep.StatusEQ(ingeststep.StatusFAILED)).Exist(system(ctx))
	if err != nil {
		return err
	}
	lost, err := s.db.PipelineRun.Query().
		Where(pipelinerun.VideoID(v.ID), pipelinerun.StatusEQ(pipelinerun.StatusLOST)).Count(system(ctx))
	if err != nil {
		return err
	}
	if permanent || lost+1 >= maxLostRuns {
		s.log.Warn("ingest attempt lost; failing the video", "video", v.ID, "attempt", r.Attempt, "why", why)
		return s.closeAttempt(ctx, v, video.StatusFAILED, fmt.Sprintf("the pipeline runner lost the run %d times (last: %s)", lost+1, why))
	}
	s.log.Warn("ingest attempt lost; starting a new one", "video", v.ID, "attempt", r.Attempt, "why", why)
	err = s.db.PipelineRun.UpdateOne(r).SetStatus(pipelinerun.StatusLOST).SetError(why).SetFinishedAt(time.Now()).Exec(system(ctx))
	if err != nil {
		return err
	}
	return s.submit(ctx, v)
}

// RecoverAll treats every attempt in flight on this machine as lost and
// starts a new one. The server calls it at start when it runs its own
// runner: a runner that was just started holds no live local runs, whatever
// its files say. Runs on workers elsewhere survive a server restart and are
// left to the reconciler.
func (s *Service) RecoverAll(ctx context.Context) error {
	runs, err := s.activeRuns(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range runs {
		if dr, err := s.runner.Run(ctx, s.spec.Name, r.RunnerID); err == nil && dr.Status == daguRunning &&
			dr.WorkerID != "" && dr.WorkerID != runner.WorkerID {
			continue
		}
		// A stale run still queued would take a slot from the new attempt.
		if err := s.runner.Stop(ctx, s.spec.Name, r.RunnerID); err != nil && !errors.Is(err, runner.ErrNotFound) {
			if err := s.runner.Dequeue(ctx, s.spec.Name, r.RunnerID); err != nil && !errors.Is(err, runner.ErrNotFound) {
				s.log.Debug("remove stale run", "run", r.RunnerID, "err", err)
			}
		}
		if err := s.recover(ctx, r.Edges.Video, r, "vindex restarted while the run was in flight"); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
