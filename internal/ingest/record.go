package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/ingeststep"
	"github.com/vindex/vindex/ent/privacy"
	"github.com/vindex/vindex/ent/video"
)

// system is the context of the pipeline itself: steps and the reconciler act
// for no viewer, on videos whose access was checked when they were submitted.
func system(ctx context.Context) context.Context {
	return privacy.DecisionContext(ctx, privacy.Allow)
}

func notify(ctx context.Context, tx *ent.Tx, e Event) error {
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	q, args, err := notifySQL(e)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// stepChange is a new state for a step; zero fields are left as they are,
// except Progress, which is always written.
type stepChange struct {
	Status   ingeststep.Status
	Progress float64
	Message  string
	Error    string
	Attempt  int  // the pipeline attempt making the change
	Start    bool // a new try begins: count it, stamp started_at, clear the last error
}

func isTerminal(s ingeststep.Status) bool {
	switch s {
	case ingeststep.StatusSUCCEEDED, ingeststep.StatusSKIPPED, ingeststep.StatusFAILED, ingeststep.StatusCANCELLED:
		return true
	}
	return false
}

// setStep records a step's new state and announces it, in one transaction.
func setStep(ctx context.Context, tx *ent.Tx, v *ent.Video, name string, c stepChange) error {
	ctx = system(ctx)
	st, err := tx.IngestStep.Query().Where(ingeststep.VideoID(v.ID), ingeststep.Name(name)).Only(ctx)
	if err != nil {
		return fmt.Errorf("load step %s: %w", name, err)
	}
	u := tx.IngestStep.UpdateOne(st).SetStatus(c.Status).SetProgress(c.Progress)
	if c.Attempt > 0 {
		u.SetRunAttempt(c.Attempt)
	}
	if c.Start {
		u.AddAttempts(1).SetStartedAt(time.Now()).ClearFinishedAt().ClearError().ClearMessage()
	}
	if c.Message != "" {
		u.SetMessage(c.Message)
	}
	if c.Error != "" {
		u.SetError(c.Error)
	}
	if isTerminal(c.Status) {
		u.SetFinishedAt(time.Now())
	}
	if err := u.Exec(ctx); err != nil {
		return fmt.Errorf("record step %s: %w", name, err)
	}
	return notify(ctx, tx, Event{
		VideoID: v.ID, WorkspaceID: v.WorkspaceID, Step: name,
		Status: string(c.Status), Progress: c.Progress, Message: firstNonEmpty(c.Error, c.Message),
	})
}

// setVideo records a video's new ingest status and announces it.
func setVideo(ctx context.Context, tx *ent.Tx, v *ent.Video, status video.Status, failedStep, errText string) error {
	ctx = system(ctx)
	u := tx.Video.UpdateOne(v).SetStatus(status)
	if status == video.StatusFAILED {
		u.SetFailedStep(failedStep).SetError(errText)
	} else {
		u.ClearFailedStep().ClearError()
	}
	if err := u.Exec(ctx); err != nil {
		return fmt.Errorf("record video status: %w", err)
	}
	progress := 0.0
	if status == video.StatusSUCCEEDED {
		progress = 1
	}
	return notify(ctx, tx, Event{
		VideoID: v.ID, WorkspaceID: v.WorkspaceID,
		Status: videoEventStatus(status), Progress: progress, Message: errText,
	})
}

// videoEventStatus maps a video's status onto the event vocabulary, which
// is the steps' one: a video PROCESSING is RUNNING.
func videoEventStatus(s video.Status) string {
	if s == video.StatusPROCESSING {
		return string(ingeststep.StatusRUNNING)
	}
	return s.String()
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
