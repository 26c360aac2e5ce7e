package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/ingeststep"
	"github.com/vindex/vindex/ent/keyframe"
	"github.com/vindex/vindex/ent/ocrtext"
	"github.com/vindex/vindex/ent/pipelinerun"
	"github.com/vindex/vindex/ent/schema/ocrbox"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/video"
	"github.com/vindex/vindex/internal/blob"
	"github.com/vindex/vindex/internal/media"
	"github.com/vindex/vindex/internal/store"
)

// Exit codes of `vindex step`, as pipelines/ingest.yaml's retry policies
// expect them.
const (
	ExitTemporary = 75 // EX_TEMPFAIL: the runner retries
	ExitPermanent = 65 // EX_DATAERR: bad input; retrying would fail the same way
)

// ErrPermanent marks a failure that retrying cannot fix (the input is bad).
var ErrPermanent = errors.New("permanent failure")

// errSkipped ends a step that has nothing to do for this video (no audio
// stream, say); it is recorded as SKIPPED with the reason.
type errSkipped struct{ reason string }

func (e errSkipped) Error() string { return e.reason }

// ExitCode maps a step's error to the process exit code.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrPermanent):
		return ExitPermanent
	default:
		return ExitTemporary
	}
}

// Steps runs one pipeline step of one video at a time: `vindex step`.
type Steps struct {
	DB      *ent.Client
	Blobs   blob.Store
	Faults  map[string]int // step → how many times to fail first (fault injection for tests)
	Scratch string         // parent of per-step temporary directories
	Models  Engines        // the model steps' engines
	Log     *slog.Logger
}

type stepFunc func(s *Steps, ctx context.Context, j *job) error

// job is one step execution: the video, the attempt and a scratch dir.
type job struct {
	video    *ent.Video
	attempt  int
	step     string
	dir      string
	source   string // the upload's local path, once localSource found it
	progress func(float64)
	note     string // recorded as the step's message when it succeeds
}

// mediaProgress turns an ffmpeg job's position (seconds of the video done)
// into the step's progress, the job being the first share of the step.
func (j *job) mediaProgress(share float64) func(doneSeconds float64) {
	return func(done float64) {
		if d := j.video.DurationSeconds; d != nil && *d > 0 {
			j.progress(share * done / *d)
		}
	}
}

var stepFuncs = map[string]stepFunc{
	"probe":        (*Steps).probe,
	"keyframes":    (*Steps).keyframes,
	"audio":        (*Steps).audio,
	"ocr":          (*Steps).ocr,
	"transcribe":   (*Steps).transcribe,
	"embed-text":   (*Steps).embedText,
	"embed-frames": (*Steps).embedFrames,
	"finalize":     (*Steps).finalize,
}

// Run executes step name for a video within pipeline attempt. A step already
// recorded as done is not done again, which is what lets a new attempt resume
// where a crashed one stopped.
func (s *Steps) Run(ctx context.Context, name string, videoID pulid.ID, attempt int) error {
	switch name {
	case "on-failure":
		return s.onFailure(ctx, videoID, attempt)
	case "on-cancel":
		return s.onCancel(ctx, videoID, attempt)
	}
	fn, ok := stepFuncs[name]
	if !ok {
		return fmt.Errorf("%w: unknown step %q", ErrPermanent, name)
	}
	v, st, ok, err := s.load(ctx, videoID, name, attempt)
	if err != nil || !ok {
		return err
	}
	if st.Status == ingeststep.StatusSUCCEEDED || st.Status == ingeststep.StatusSKIPPED {
		s.Log.Info("step already done", "step", name, "video", videoID, "attempt", attempt)
		return nil
	}
	live := false
	err = store.InTx(ctx, s.DB, func(tx *ent.Tx) error {
		cur, ok, err := attemptLive(ctx, tx, videoID, attempt)
		if live = ok; err != nil || !live {
			return err // cancelled since load: nothing to do
		}
		if cur.Status == video.StatusQUEUED {
			if err := setVideo(ctx, tx, v, video.StatusPROCESSING, "", ""); err != nil {
				return err
			}
		}
		return setStep(ctx, tx, v, name, stepChange{Status: ingeststep.StatusRUNNING, Attempt: attempt, Start: true})
	})
	if err != nil || !live {
		return err
	}
	dir, err := os.MkdirTemp(s.Scratch, "vindex-step-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	j := &job{video: v, attempt: attempt, step: name, dir: dir}
	j.progress = s.progressReporter(ctx, j)

	start := time.Now()
	if n := s.Faults[name]; n > 0 && st.Attempts < n {
		err = fmt.Errorf("injected fault %d of %d (VINDEX_FAULTS)", st.Attempts+1, n)
	} else {
		err = fn(s, ctx, j)
	}
	s.Log.Info("step ran", "step", name, "video", videoID, "attempt", attempt, "took", time.Since(start), "err", err)
	return s.finish(context.WithoutCancel(ctx), j, err)
}

// load reads the video and its step row; ok is false when there is nothing
// to do: the video is gone, or a newer attempt has taken over.
func (s *Steps) load(ctx context.Context, id pulid.ID, name string, attempt int) (*ent.Video, *ent.IngestStep, bool, error) {
	v, err := s.DB.Video.Get(system(ctx), id)
	if ent.IsNotFound(err) {
		s.Log.Info("video is gone; nothing to do", "video", id)
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("load video: %w", err)
	}
	if v.IngestAttempt != attempt || v.Status == video.StatusCANCELLED {
		s.Log.Info("attempt superseded; nothing to do", "video", id, "attempt", attempt, "current", v.IngestAttempt)
		return nil, nil, false, nil
	}
	st, err := s.DB.IngestStep.Query().Where(ingeststep.VideoID(id), ingeststep.Name(name)).Only(system(ctx))
	if err != nil {
		return nil, nil, false, fmt.Errorf("load step %s: %w", name, err)
	}
	return v, st, true, nil
}

// attemptLive locks the video's row and reports whether attempt is still
// its current, unfinished attempt. A step checks it in each transaction that
// records its state, so that a step stopped by cancelIngest, or outlived by
// a newer attempt, does not write over what the cancel recorded: the lock
// orders the two transactions.
func attemptLive(ctx context.Context, tx *ent.Tx, id pulid.ID, attempt int) (*ent.Video, bool, error) {
	v, err := tx.Video.Query().Where(video.ID(id)).ForUpdate().Only(system(ctx))
	if ent.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return v, v.IngestAttempt == attempt && (v.Status == video.StatusQUEUED || v.Status == video.StatusPROCESSING), nil
}

// finish records how the step ended.
func (s *Steps) finish(ctx context.Context, j *job, err error) error {
	var skip errSkipped
	c := stepChange{Attempt: j.attempt}
	switch {
	case err == nil:
		c.Status, c.Progress, c.Message = ingeststep.StatusSUCCEEDED, 1, j.note
	case errors.As(err, &skip):
		c.Status, c.Progress, c.Message = ingeststep.StatusSKIPPED, 1, skip.reason
		err = nil
	case errors.Is(err, ErrPermanent):
		c.Status, c.Error = ingeststep.StatusFAILED, describe(err, j)
	default:
		// The runner may try again; the failure handler records FAILED
		// once the retries are spent.
		c.Status, c.Error = ingeststep.StatusRETRYING, describe(err, j)
	}
	rerr := store.InTx(ctx, s.DB, func(tx *ent.Tx) error {
		_, live, err := attemptLive(ctx, tx, j.video.ID, j.attempt)
		if err != nil {
			return err
		}
		if !live && c.Status != ingeststep.StatusSUCCEEDED && c.Status != ingeststep.StatusSKIPPED {
			// Stopped by a cancel (or outlived by a newer attempt), which
			// has recorded the step already: a failure now is only the stop.
			return nil
		}
		if err := setStep(ctx, tx, j.video, j.step, c); err != nil {
			return err
		}
		switch {
		case j.step == finalStep && c.Status == ingeststep.StatusSUCCEEDED:
			// The video succeeds with its last step, in the same
			// transaction and after it, so watchers see them in that order.
			if err := setVideo(ctx, tx, j.video, video.StatusSUCCEEDED, "", ""); err != nil {
				return err
			}
			return finishRun(ctx, tx, j.video.ID, j.attempt, pipelinerun.StatusSUCCEEDED, "")
		case c.Status == ingeststep.StatusFAILED:
			// A permanent failure ends the attempt here rather than through
			// the runner's failure path: Dagu 1.30 holds a failed run's
			// queue slot for ~45 s, and a few bad uploads would stall every
			// workspace's ingest. The rest of the run finds the attempt over.
			steps, err := tx.IngestStep.Query().Where(ingeststep.VideoID(j.video.ID)).All(system(ctx))
			if err != nil {
				return err
			}
			return closeAttempt(ctx, tx, j.video, steps, j.attempt, video.StatusFAILED, "")
		}
		return nil
	})
	if rerr != nil {
		return errors.Join(err, rerr)
	}
	if errors.Is(err, ErrPermanent) {
		return nil // recorded: the run goes on, a no-op, and frees its slot
	}
	return err
}

// describe is the error as people should read it: the workspace's users
// see it, so it names no path of the server (the logs have the full error).
func describe(err error, j *job) string {
	msg := strings.TrimPrefix(err.Error(), ErrPermanent.Error()+": ")
	if j.source != "" {
		msg = strings.NewReplacer("file:"+j.source+": ", "", " "+j.source+":", ":", j.source, "the file").Replace(msg)
	}
	msg = strings.ReplaceAll(msg, j.dir+string(filepath.Separator), "")
	if len(msg) > 2000 {
		msg = msg[:2000] + "…"
	}
	return msg
}

// progressReporter returns a callback that records progress at most twice a
// second, so a fast step does not flood the database.
func (s *Steps) progressReporter(ctx context.Context, j *job) func(float64) {
	var mu sync.Mutex
	var last time.Time
	var lastP float64
	return func(p float64) {
		mu.Lock()
		defer mu.Unlock()
		p = min(max(p, 0), 0.99)
		if time.Since(last) < 500*time.Millisecond || p-lastP < 0.01 {
			return
		}
		last, lastP = time.Now(), p
		err := store.InTx(ctx, s.DB, func(tx *ent.Tx) error {
			if _, live, err := attemptLive(ctx, tx, j.video.ID, j.attempt); err != nil || !live {
				return err
			}
			return setStep(ctx, tx, j.video, j.step, stepChange{Status: ingeststep.StatusRUNNING, Progress: p, Attempt: j.attempt})
		})
		if err != nil {
			s.Log.Warn("record progress", "step", j.step, "video", j.video.ID, "err", err)
		}
	}
}

// Blob keys of a video's files.
func sourceKey(v *ent.Video) string { return fmt.Sprintf("%s/%s/source", v.WorkspaceID, v.ID) }
func audioKey(v *ent.Video) string  { return fmt.Sprintf("%s/%s/audio.wav", v.WorkspaceID, v.ID) }
func keyframesPrefix(v *ent.Video) string {
	return fmt.Sprintf("%s/%s/keyframes/", v.WorkspaceID, v.ID)
}
func videoPrefix(v *ent.Video) string { return fmt.Sprintf("%s/%s/", v.WorkspaceID, v.ID) }

// localSource returns a path ffmpeg can read: the blob itself on a local
// store, a copy in the scratch dir otherwise.
func (s *Steps) localSource(ctx context.Context, j *job) (string, error) {
	if l, ok := s.Blobs.(*blob.Local); ok {
		p, err := l.Path(j.video.StorageKey)
		j.source = p
		return p, err
	}
	dst := filepath.Join(j.dir, "source")
	if err := blob.Fetch(ctx, s.Blobs, j.video.StorageKey, dst); err != nil {
		return "", fmt.Errorf("fetch upload: %w", err)
	}
	j.source = dst
	return dst, nil
}

// mediaError marks errors about the file itself as permanent.
func mediaError(err error) error {
	for _, e := range []error{media.ErrNotMedia, media.ErrUnsupported, media.ErrStalled} {
		if errors.Is(err, e) {
			return fmt.Errorf("%w: %w", ErrPermanent, err)
		}
	}
	return err
}

func (s *Steps) probe(ctx context.Context, j *job) error {
	path, err := s.localSource(ctx, j)
	if err != nil {
		return err
	}
	info, err := media.Probe(ctx, path)
	if err != nil {
		return mediaError(err)
	}
	vs, hasVideo := info.Video()
	_, hasAudio := info.Audio()
	if !hasVideo && !hasAudio {
		return fmt.Errorf("%w: the file has neither video nor audio", ErrPermanent)
	}
	u := s.DB.Video.UpdateOne(j.video).
		SetDurationSeconds(info.Duration).
		SetHasAudio(hasAudio).
		SetMediaInfo(mediaInfoMap(info))
	if hasVideo {
		u.SetWidth(vs.Width).SetHeight(vs.Height)
	}
	return u.Exec(system(ctx))
}

func mediaInfoMap(info media.Info) map[string]any {
	streams := make([]map[string]any, 0, len(info.Streams))
	for _, st := range info.Streams {
		streams = append(streams, map[string]any{
			"kind": st.Kind, "codec": st.Codec, "width": st.Width, "height": st.Height,
			"fps": st.FPS, "sampleRate": st.SampleRate, "channels": st.Channels, "duration": st.Duration,
		})
	}
	return map[string]any{"format": info.Format, "duration": info.Duration, "size": info.Size, "bitRate": info.BitRate, "streams": streams}
}

func (s *Steps) keyframes(ctx context.Context, j *job) error {
	if j.video.Width == nil {
		return errSkipped{"the file has no video stream"}
	}
	path, err := s.localSource(ctx, j)
	if err != nil {
		return err
	}
	frames, err := media.Keyframes(ctx, path, filepath.Join(j.dir, "frames"), media.KeyframeOptions{
		SceneThreshold: 0.3, MaxInterval: 5, MaxWidth: 640, Quality: 4,
	}, j.mediaProgress(0.8))
	if errors.Is(err, media.ErrNoVideo) {
		return errSkipped{"the file has no video stream"}
	}
	if err != nil {
		return mediaError(err)
	}
	// Replace, never add: a re-run leaves exactly one set of files and rows.
	prefix := keyframesPrefix(j.video)
	if err := s.Blobs.DeletePrefix(ctx, prefix); err != nil {
		return fmt.Errorf("clear old keyframes: %w", err)
	}
	keys := make([]string, len(frames))
	for i, f := range frames {
		keys[i] = fmt.Sprintf("%s%05d.jpg", prefix, i)
		if err := putFile(ctx, s.Blobs, keys[i], f.Path, "image/jpeg"); err != nil {
			return err
		}
		j.progress(0.8 + 0.2*float64(i+1)/float64(len(frames)))
	}
	return store.InTx(ctx, s.DB, func(tx *ent.Tx) error {
		if _, err := tx.Keyframe.Delete().Where(keyframe.VideoID(j.video.ID)).Exec(system(ctx)); err != nil {
			return err
		}
		creates := make([]*ent.KeyframeCreate, len(frames))
		for i, f := range frames {
			creates[i] = tx.Keyframe.Create().
				SetWorkspaceID(j.video.WorkspaceID).SetVideoID(j.video.ID).
				SetOrdinal(i).SetTimeSeconds(f.Time).SetBlobKey(keys[i]).
				SetWidth(f.Width).SetHeight(f.Height)
		}
		return inBatches(creates, func(b []*ent.KeyframeCreate) error { return tx.Keyframe.CreateBulk(b...).Exec(system(ctx)) })
	})
}

// insertBatch bounds the rows of one INSERT: PostgreSQL takes at most 65535
// parameters a statement, and a long video has thousands of keyframes.
const insertBatch = 1000

// inBatches calls fn with consecutive slices of items, insertBatch at most.
func inBatches[T any](items []T, fn func([]T) error) error {
	for len(items) > 0 {
		n := min(len(items), insertBatch)
		if err := fn(items[:n]); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}

func putFile(ctx context.Context, store blob.Store, key, path, contentType string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := store.Put(ctx, key, f, contentType); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

func (s *Steps) audio(ctx context.Context, j *job) error {
	if j.video.HasAudio != nil && !*j.video.HasAudio {
		return errSkipped{"the file has no audio stream"}
	}
	path, err := s.localSource(ctx, j)
	if err != nil {
		return err
	}
	wav := filepath.Join(j.dir, "audio.wav")
	err = media.ExtractAudio(ctx, path, wav, j.mediaProgress(0.9))
	if errors.Is(err, media.ErrNoAudio) {
		return errSkipped{"the file has no audio stream"}
	}
	if err != nil {
		return mediaError(err)
	}
	return putFile(ctx, s.Blobs, audioKey(j.video), wav, "audio/wav")
}

// ocrWorkers matches the two cores vindex is sized for; tesseract is
// single-threaded per image here (OMP_THREAD_LIMIT=1 in media).
const ocrWorkers = 2

func (s *Steps) ocr(ctx context.Context, j *job) error {
	frames, err := s.DB.Keyframe.Query().Where(keyframe.VideoID(j.video.ID)).
		Order(ent.Asc(keyframe.FieldOrdinal)).All(system(ctx))
	if err != nil {
		return err
	}
	if len(frames) == 0 {
		return errSkipped{"there are no keyframes to read"}
	}
	results := make([]media.OCRResult, len(frames))
	var mu sync.Mutex
	finished := 0
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ocrWorkers)
	for i, f := range frames {
		g.Go(func() error {
			path := filepath.Join(j.dir, fmt.Sprintf("%05d.jpg", i))
			if err := blob.Fetch(gctx, s.Blobs, f.BlobKey, path); err != nil {
				return fmt.Errorf("fetch keyframe %d: %w", i, err)
			}
			r, err := media.OCR(gctx, path)
			if err != nil {
				return fmt.Errorf("ocr keyframe %d: %w", i, err)
			}
			results[i] = r
			mu.Lock()
			finished++
			j.progress(float64(finished) / float64(len(frames)))
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return store.InTx(ctx, s.DB, func(tx *ent.Tx) error {
		if _, err := tx.OCRText.Delete().Where(ocrtext.VideoID(j.video.ID)).Exec(system(ctx)); err != nil {
			return err
		}
		var creates []*ent.OCRTextCreate
		for i, r := range results {
			if r.Text == "" {
				continue
			}
			words := make([]ocrbox.Word, len(r.Words))
			for k, w := range r.Words {
				words[k] = ocrbox.Word{Text: w.Text, Conf: w.Conf, X: w.X, Y: w.Y, W: w.W, H: w.H}
			}
			creates = append(creates, tx.OCRText.Create().
				SetWorkspaceID(j.video.WorkspaceID).SetVideoID(j.video.ID).
				SetTimeSeconds(frames[i].TimeSeconds).SetKeyframeOrdinal(frames[i].Ordinal).
				SetText(r.Text).SetWords(words))
		}
		return inBatches(creates, func(b []*ent.OCRTextCreate) error { return tx.OCRText.CreateBulk(b...).Exec(system(ctx)) })
	})
}

// finalStep is the pipeline's last step; its success is the video's.
const finalStep = "finalize"

// finalize has no work of its own; finishing it records the video's
// success.
func (s *Steps) finalize(context.Context, *job) error { return nil }

func finishRun(ctx context.Context, tx *ent.Tx, videoID pulid.ID, attempt int, status pipelinerun.Status, errText string) error {
	u := tx.PipelineRun.Update().
		Where(pipelinerun.VideoID(videoID), pipelinerun.Attempt(attempt)).
		SetStatus(status).SetFinishedAt(time.Now())
	if errText != "" {
		u.SetError(errText)
	}
	_, err := u.Save(system(ctx))
	return err
}

// onFailure runs when the runner gives up on an attempt: the step that was
// failing becomes FAILED, steps that never ran are marked as such, and the
// video is FAILED with the failing step's error.
func (s *Steps) onFailure(ctx context.Context, id pulid.ID, attempt int) error {
	return s.endAttempt(ctx, id, attempt, video.StatusFAILED)
}

func (s *Steps) onCancel(ctx context.Context, id pulid.ID, attempt int) error {
	return s.endAttempt(ctx, id, attempt, video.StatusCANCELLED)
}

func (s *Steps) endAttempt(ctx context.Context, id pulid.ID, attempt int, status video.Status) error {
	v, err := s.DB.Video.Get(system(ctx), id)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if v.IngestAttempt != attempt {
		return nil // a newer attempt owns the video now
	}
	steps, err := s.DB.IngestStep.Query().Where(ingeststep.VideoID(id)).All(system(ctx))
	if err != nil {
		return err
	}
	return store.InTx(ctx, s.DB, func(tx *ent.Tx) error { return closeAttempt(ctx, tx, v, steps, attempt, status, "") })
}

// closeAttempt ends an attempt in the database: failing or interrupted steps
// become FAILED (or CANCELLED), steps that never ran CANCELLED, and the video
// and its run take the final status. reason explains a failure that no step
// recorded (the runner refused or lost the run).
func closeAttempt(ctx context.Context, tx *ent.Tx, v *ent.Video, steps []*ent.IngestStep, attempt int, status video.Status, reason string) error {
	// The video's row first, as attemptLive takes it: no deadlock with a step.
	if _, err := tx.Video.Query().Where(video.ID(v.ID)).ForUpdate().Only(system(ctx)); err != nil {
		return err
	}
	failedStep, errText := "", ""
	for _, st := range steps {
		if st.Status == ingeststep.StatusFAILED && failedStep == "" {
			failedStep, errText = st.Name, st.Error
		}
	}
	for _, st := range steps {
		if isTerminal(st.Status) {
			continue
		}
		c := stepChange{Status: ingeststep.StatusCANCELLED, Progress: st.Progress, Attempt: attempt, Message: "not run: the pipeline stopped"}
		if st.Status == ingeststep.StatusRUNNING || st.Status == ingeststep.StatusRETRYING {
			c.Message = "stopped: the pipeline stopped"
		}
		// With no step recorded as failed, the one the runner gave up on
		// (still RETRYING or RUNNING) is the failure.
		if status == video.StatusFAILED && failedStep == "" && (st.Status == ingeststep.StatusRETRYING || st.Status == ingeststep.StatusRUNNING) {
			c.Status, c.Error, c.Message = ingeststep.StatusFAILED, firstNonEmpty(st.Error, "the step did not finish"), ""
			failedStep, errText = st.Name, c.Error
		}
		if err := setStep(ctx, tx, v, st.Name, c); err != nil {
			return err
		}
	}
	if status == video.StatusFAILED && errText == "" {
		errText = firstNonEmpty(reason, "the pipeline failed")
	}
	runStatus := pipelinerun.StatusFAILED
	if status == video.StatusCANCELLED {
		runStatus, errText = pipelinerun.StatusCANCELLED, ""
	}
	if err := setVideo(ctx, tx, v, status, failedStep, errText); err != nil {
		return err
	}
	return finishRun(ctx, tx, v.ID, attempt, runStatus, errText)
}
