package ingest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/ent/ingeststep"
	"github.com/vindex/vindex/ent/keyframe"
	"github.com/vindex/vindex/ent/ocrtext"
	"github.com/vindex/vindex/ent/pipelinerun"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/video"
	"github.com/vindex/vindex/internal/apitest"
	"github.com/vindex/vindex/internal/config"
	"github.com/vindex/vindex/internal/ingest"
	"github.com/vindex/vindex/internal/testmedia"
)

// retryWaits is what a step failing its whole retry policy spends waiting
// between tries (pipelines/ingest.yaml: 2 s doubling, three retries).
const retryWaits = (2 + 4 + 8) * time.Second

// step is one entry of VideoState.Steps.
type step struct {
	Name, Status, Error, Message string
	Progress                     float64
	Attempts                     int
}

func stepsOf(v apitest.VideoState) map[string]step {
	out := map[string]step{}
	for _, st := range v.Steps {
		out[st.Name] = step(st)
	}
	return out
}

// requireSteps checks each named step's status.
func requireSteps(t *testing.T, v apitest.VideoState, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for name, st := range stepsOf(v) {
		if _, ok := want[name]; ok {
			got[name] = st.Status
		}
	}
	require.Equal(t, want, got, "steps of video %s (%s: %s)", v.ID, v.Status, v.Error)
}

// waitFor polls cond until it holds; it fails the test after timeout with
// cond's last description of what it saw.
func waitFor(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met in %s; last seen: %s", timeout, seen)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitStep waits until a video's step has one of the statuses and returns the video.
func waitStep(t *testing.T, env *apitest.Env, token, id, name string, timeout time.Duration, statuses ...string) apitest.VideoState {
	t.Helper()
	var v apitest.VideoState
	waitFor(t, timeout, func() (bool, string) {
		v = env.Video(t, token, id)
		st := stepsOf(v)[name]
		for _, s := range statuses {
			if st.Status == s {
				return true, ""
			}
		}
		return false, fmt.Sprintf("video %s, step %s %+v", v.Status, name, st)
	})
	return v
}

// blobKeys lists the keys under a video's prefix (prefix "" is all its files).
func blobKeys(t *testing.T, env *apitest.Env, ws, id, prefix string) []string {
	t.Helper()
	infos, err := env.Blobs.List(context.Background(), ws+"/"+id+"/"+prefix)
	require.NoError(t, err)
	keys := []string{}
	for _, in := range infos {
		keys = append(keys, in.Key)
	}
	return keys
}

// ffmpegFile renders a file with ffmpeg.
func ffmpegFile(t *testing.T, name string, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("ffmpeg", append(append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y"}, args...), out)...)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	return out
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

// twoHourVideo is 7200 s of 64x36 test pattern at 1 fps: a few MB, made in
// about two seconds, and ~1440 keyframes (one per 5 s).
func twoHourVideo(t *testing.T) string {
	return ffmpegFile(t, "two-hours.mp4", "-f", "lavfi", "-i", "testsrc=s=64x36:r=1:d=7200",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
}

// longTests runs what costs minutes of CPU: OCR of every keyframe of a
// two-hour video (~1440 tesseract runs, ~0.2 CPU-s each).
func longTests() bool { return os.Getenv("VINDEX_LONG_TESTS") != "" }

// A step that fails temporarily is retried inside the attempt, and the
// video still succeeds on its own.
func TestTransientFaultIsRetriedWithinTheAttempt(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithRunner(), apitest.WithConfig(func(c *config.Config) {
		c.Faults = map[string]int{"keyframes": 2}
	}))
	u := env.Signup(t, "faults@example.com")
	id := env.UploadVideo(t, u.Access, u.WorkspaceID, makeClip(t, "FLAKY 12"), "Flaky")
	v := env.WaitVideo(t, u.Access, id, ingestTimeout+retryWaits, "SUCCEEDED", "FAILED", "CANCELLED")
	require.Equal(t, "SUCCEEDED", v.Status, "error: %s (step %s)", v.Error, v.FailedStep)
	st := stepsOf(v)
	require.Equal(t, 3, st["keyframes"].Attempts, "two injected faults, then success")
	require.Empty(t, st["keyframes"].Error, "a later success clears the error")
	for _, name := range []string{"probe", "audio", "ocr", "finalize"} {
		require.Equal(t, 1, st[name].Attempts, name)
	}
	require.NotEmpty(t, v.Keyframes)
	require.Len(t, blobKeys(t, env, u.WorkspaceID, id, "keyframes/"), len(v.Keyframes), "the failed tries left no files")
}

// A step that keeps failing past its retry policy fails the video; the
// steps done stay done, and retryIngest resumes at the failed step.
func TestRetryIngestResumesAtTheFailedStep(t *testing.T) {
	t.Parallel()
	// limit 3 ⇒ 4 tries per attempt: attempt 1 fails tries 1–4, attempt 2
	// fails try 5 and succeeds on try 6.
	env := apitest.New(t, apitest.WithRunner(), apitest.WithConfig(func(c *config.Config) {
		c.Faults = map[string]int{"ocr": 5}
	}))
	u := env.Signup(t, "retry@example.com")
	id := env.UploadVideo(t, u.Access, u.WorkspaceID, makeClip(t, "RETRY 77"), "Retry")

	v := env.WaitVideo(t, u.Access, id, ingestTimeout+retryWaits, "SUCCEEDED", "FAILED", "CANCELLED")
	require.Equal(t, "FAILED", v.Status)
	require.Equal(t, "ocr", v.FailedStep)
	require.Contains(t, v.Error, "injected fault 4 of 5")
	requireSteps(t, v, map[string]string{
		"probe": "SUCCEEDED", "keyframes": "SUCCEEDED", "audio": "SUCCEEDED", "ocr": "FAILED", "finalize": "CANCELLED",
	})
	st := stepsOf(v)
	require.Equal(t, 4, st["ocr"].Attempts, "one try and three retries")
	require.Contains(t, st["ocr"].Error, "injected fault 4 of 5")
	require.Equal(t, 0, st["finalize"].Attempts, "finalize never ran")
	require.Empty(t, v.OCR)
	frames := len(v.Keyframes)
	require.GreaterOrEqual(t, frames, 2)
	before := blobKeys(t, env, u.WorkspaceID, id, "")

	// Retrying a FAILED video starts attempt 2 at ocr.
	var out struct{ RetryIngest struct{ ID, Status string } }
	env.Do(t, u.Access, `mutation($id: ID!) { retryIngest(videoId: $id) { id status } }`, map[string]any{"id": id}).Decode(t, &out)
	require.Equal(t, "QUEUED", out.RetryIngest.Status)
	v = env.WaitVideo(t, u.Access, id, ingestTimeout+retryWaits, "SUCCEEDED", "FAILED", "CANCELLED")
	require.Equal(t, "SUCCEEDED", v.Status, "error: %s (step %s)", v.Error, v.FailedStep)
	require.Empty(t, v.Error)
	require.Empty(t, v.FailedStep)
	st = stepsOf(v)
	for _, name := range []string{"probe", "keyframes", "audio"} {
		require.Equal(t, "SUCCEEDED", st[name].Status, name)
		require.Equal(t, 1, st[name].Attempts, "%s is not run again", name)
	}
	require.Equal(t, 6, st["ocr"].Attempts, "tries 5 (fault) and 6 (success) in attempt 2")
	require.Equal(t, "SUCCEEDED", st["ocr"].Status)
	require.Empty(t, st["ocr"].Error)
	require.Equal(t, "SUCCEEDED", st["finalize"].Status)

	// One set of keyframes and OCR, files and rows.
	require.Len(t, v.Keyframes, frames)
	require.Equal(t, before, blobKeys(t, env, u.WorkspaceID, id, ""), "no file added or lost by the retry")
	require.Len(t, blobKeys(t, env, u.WorkspaceID, id, "keyframes/"), frames)
	require.Contains(t, strings.ToUpper(ocrText(v)), "RETRY 77")
	ords := map[int]bool{}
	rows, err := env.App.Store.Ent.OCRText.Query().Where(ocrtext.VideoID(pulid.ID(id))).All(apitest.System())
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	for _, r := range rows {
		require.False(t, ords[r.KeyframeOrdinal], "OCR of keyframe %d recorded twice", r.KeyframeOrdinal)
		ords[r.KeyframeOrdinal] = true
	}
	runs, err := env.App.Store.Ent.PipelineRun.Query().Where(pipelinerun.VideoID(pulid.ID(id))).
		Order(pipelinerun.ByAttempt()).All(apitest.System())
	require.NoError(t, err)
	require.Len(t, runs, 2)
	require.Equal(t, pipelinerun.StatusFAILED, runs[0].Status)
	require.Equal(t, pipelinerun.StatusSUCCEEDED, runs[1].Status)
}

func ocrText(v apitest.VideoState) string {
	var parts []string
	for _, o := range v.OCR {
		parts = append(parts, o.Text)
	}
	return strings.Join(parts, " ")
}

// Bad uploads end in a clear state, with a reason people can read, and do
// not disturb the other videos of the workspace.
func TestBadInputEndsInAClearState(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithRunner())
	u := env.Signup(t, "badinput@example.com")

	clip := makeClip(t, "GOOD 1")
	b, err := os.ReadFile(clip)
	require.NoError(t, err)
	rnd := rand.New(rand.NewPCG(1, 2)) // fixed: the bytes must not happen to look like media
	noise := make([]byte, 256<<10)
	for i := range noise {
		noise[i] = byte(rnd.Uint32())
	}

	type want struct {
		status string
		// FAILED: the reason must contain this.
		reason string
		// SUCCEEDED: steps expected SKIPPED, with words their message has.
		skipped map[string]string
	}
	cases := []struct {
		name string
		path string
		want want
	}{
		{"empty", writeFile(t, "empty.mp4", nil), want{status: "FAILED", reason: "empty"}},
		{"random bytes", writeFile(t, "random.mp4", noise), want{status: "FAILED", reason: "not a video or audio file"}},
		{"truncated mp4", writeFile(t, "truncated.mp4", b[:len(b)/2]), want{status: "FAILED", reason: "not a video or audio file"}},
		{"text named .mp4", writeFile(t, "notes.mp4", []byte("Meeting notes\n\nThis is not a video.\n")), want{status: "FAILED", reason: "not a video or audio file"}},
		{"absurd dimensions", ffmpegFile(t, "wide.mp4", "-f", "lavfi", "-i", "color=c=red:s=8200x16:d=1:r=5",
			"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"), want{status: "FAILED", reason: "8200x16"}},
		{"audio only", testmedia.Path(t, testmedia.JFK), want{status: "SUCCEEDED", skipped: map[string]string{
			"keyframes": "no video", "ocr": "no keyframes"}}},
		{"video only", testmedia.Path(t, testmedia.City), want{status: "SUCCEEDED", skipped: map[string]string{"audio": "no audio"}}},
		{"good clip", clip, want{status: "SUCCEEDED", skipped: map[string]string{}}},
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		ids[i] = env.UploadVideo(t, u.Access, u.WorkspaceID, c.path, c.name)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := env.WaitVideo(t, u.Access, ids[i], ingestTimeout, "SUCCEEDED", "FAILED", "CANCELLED")
			require.Equal(t, c.want.status, v.Status, "error: %s (step %s)", v.Error, v.FailedStep)
			st := stepsOf(v)
			require.Equal(t, 1, st["probe"].Attempts, "a bad file is tried once: retrying cannot fix it")
			if c.want.status == "FAILED" {
				require.Equal(t, "probe", v.FailedStep)
				requireReadable(t, env, v.Error)
				require.Contains(t, v.Error, c.want.reason)
				require.Equal(t, v.Error, st["probe"].Error)
				requireSteps(t, v, map[string]string{
					"probe": "FAILED", "keyframes": "CANCELLED", "audio": "CANCELLED", "ocr": "CANCELLED", "finalize": "CANCELLED",
				})
				require.Empty(t, v.Keyframes)
				require.Equal(t, []string{u.WorkspaceID + "/" + ids[i] + "/source"}, blobKeys(t, env, u.WorkspaceID, ids[i], ""),
					"the upload is kept (it can be downloaded or deleted), nothing else is made")
				return
			}
			require.Empty(t, v.Error)
			for _, s := range v.Steps {
				words, skip := c.want.skipped[s.Name]
				if !skip {
					require.Equal(t, apitest.DoneStatus(s.Name), s.Status, s.Name)
					continue
				}
				require.Equal(t, "SKIPPED", s.Status, s.Name)
				require.Contains(t, s.Message, words, s.Name)
			}
			if _, noVideo := c.want.skipped["keyframes"]; noVideo {
				require.Empty(t, v.Keyframes)
				require.Nil(t, v.ThumbnailURL)
			} else {
				require.NotEmpty(t, v.Keyframes)
			}
		})
	}
}

// Bad uploads must not hold up other videos: with the default two runs at a
// time, two permanent failures must not keep a good clip waiting.
// A bad upload fails its run's first step for good; the run must still end
// promptly, or (Dagu holds a failed run's queue slot for ~45 s) a few bad
// uploads would stall every workspace's ingest.
func TestBadUploadsDoNotHoldUpTheQueue(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithRunner())
	require.Equal(t, 2, env.Config.IngestConcurrency)
	u := env.Signup(t, "queue@example.com")
	var bad []string
	for i := range 2 {
		bad = append(bad, env.UploadVideo(t, u.Access, u.WorkspaceID, writeFile(t, "empty.mp4", nil), fmt.Sprint("empty ", i)))
	}
	for _, id := range bad {
		require.Equal(t, "FAILED", env.WaitVideo(t, u.Access, id, ingestTimeout, "SUCCEEDED", "FAILED").Status)
	}
	id := env.UploadVideo(t, u.Access, u.WorkspaceID, makeClip(t, "NEXT 3"), "After the bad ones")
	// Well under the ~45 s a held slot would add.
	v := env.WaitVideo(t, u.Access, id, 30*time.Second, "SUCCEEDED", "FAILED")
	require.Equal(t, "SUCCEEDED", v.Status)
}

// requireReadable checks an error shown to people: present, one short line,
// no Go internals and no server paths.
func requireReadable(t *testing.T, env *apitest.Env, msg string) {
	t.Helper()
	require.NotEmpty(t, msg)
	require.Less(t, len(msg), 600, msg)
	require.NotContains(t, msg, "\n", msg)
	for _, internal := range []string{"goroutine ", ".go:", "panic", "permanent failure", env.Config.DataDir, os.TempDir() + "/"} {
		require.NotContains(t, msg, internal, msg)
	}
	require.NotRegexp(t, `0x[0-9a-f]{6}`, msg, "a pointer")
}

// A running ingest can be cancelled and retried; the steps done stay done.
// The two-hour video is slow where it matters: OCR of ~1440 keyframes.
func TestCancelRunningIngestAndRetry(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithRunner())
	u := env.Signup(t, "cancel@example.com")
	id := env.UploadVideo(t, u.Access, u.WorkspaceID, twoHourVideo(t), "Two hours")

	v := waitStep(t, env, u.Access, id, "ocr", ingestTimeout, "RUNNING")
	require.Equal(t, "PROCESSING", v.Status)
	require.InDelta(t, 7200, *v.DurationSeconds, 1)
	require.InDelta(t, 1440, len(v.Keyframes), 5, "a keyframe at least every 5 s")
	require.Len(t, blobKeys(t, env, u.WorkspaceID, id, "keyframes/"), len(v.Keyframes))
	frames := len(v.Keyframes)

	cancel := func() {
		t.Helper()
		var out struct{ CancelIngest struct{ Status string } }
		env.Do(t, u.Access, `mutation($id: ID!) { cancelIngest(videoId: $id) { status } }`, map[string]any{"id": id}).Decode(t, &out)
		require.Equal(t, "CANCELLED", out.CancelIngest.Status)
	}
	cancelled := map[string]string{
		"probe": "SUCCEEDED", "keyframes": "SUCCEEDED", "audio": "SKIPPED", "ocr": "CANCELLED", "finalize": "CANCELLED",
	}
	cancel()
	// The runner stops the OCR process and runs the cancel handler: the
	// state settles as recorded and stays so.
	v = requireSettled(t, env, u.Access, id, "CANCELLED", cancelled)
	require.Empty(t, v.Error)
	require.Empty(t, v.OCR, "OCR cut short records nothing")

	r := env.Do(t, u.Access, `mutation($id: ID!) { cancelIngest(videoId: $id) { status } }`, map[string]any{"id": id})
	require.Equal(t, []string{"CONFLICT"}, r.Codes(), "a cancelled ingest cannot be cancelled again")

	var out struct{ RetryIngest struct{ Status string } }
	env.Do(t, u.Access, `mutation($id: ID!) { retryIngest(videoId: $id) { status } }`, map[string]any{"id": id}).Decode(t, &out)
	require.Equal(t, "QUEUED", out.RetryIngest.Status)
	v = waitVideoUntil(t, env, u.Access, id, func(v apitest.VideoState) bool {
		st := stepsOf(v)["ocr"]
		return st.Status == "RUNNING" && st.Attempts == 2
	})
	st := stepsOf(v)
	for _, name := range []string{"probe", "keyframes", "audio"} {
		require.Equal(t, 1, st[name].Attempts, "%s is not run again", name)
	}
	require.Len(t, v.Keyframes, frames)
	require.Len(t, blobKeys(t, env, u.WorkspaceID, id, "keyframes/"), frames)

	if !longTests() {
		// The rest is minutes of OCR (VINDEX_LONG_TESTS=1 runs it): stop here.
		cancel()
		requireSettled(t, env, u.Access, id, "CANCELLED", cancelled)
		return
	}
	v = env.WaitVideo(t, u.Access, id, 10*time.Minute, "SUCCEEDED", "FAILED", "CANCELLED")
	require.Equal(t, "SUCCEEDED", v.Status, "error: %s (step %s)", v.Error, v.FailedStep)
	require.Len(t, v.Keyframes, frames)
	require.Len(t, blobKeys(t, env, u.WorkspaceID, id, "keyframes/"), frames)
	require.Equal(t, "SKIPPED", stepsOf(v)["audio"].Status)
}

// A video with more keyframes than one INSERT can carry (PostgreSQL takes at
// most 65535 parameters a statement; a keyframe row has 8) is recorded whole.
// 4100 s of a frame that flips every 0.5 s: a scene cut at each flip.
func TestThousandsOfKeyframes(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithRunner())
	u := env.Signup(t, "cuts@example.com")
	path := ffmpegFile(t, "cuts.mp4", "-f", "lavfi",
		"-i", "color=c=black:s=64x36:r=4:d=4100,geq=lum='if(mod(floor(N/2),2),235,16)':cb=128:cr=128",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
	id := env.UploadVideo(t, u.Access, u.WorkspaceID, path, "Cuts")

	v := waitStep(t, env, u.Access, id, "keyframes", 2*ingestTimeout, "SUCCEEDED", "FAILED", "RETRYING")
	st := stepsOf(v)["keyframes"]
	require.Equal(t, "SUCCEEDED", st.Status, st.Error)
	n, err := env.App.Store.Ent.Keyframe.Query().Where(keyframe.VideoID(pulid.ID(id))).Count(apitest.System())
	require.NoError(t, err)
	require.InDelta(t, 8200, n, 5)
	require.Len(t, blobKeys(t, env, u.WorkspaceID, id, "keyframes/"), n)

	// OCR of 8200 frames is not what this test is about.
	env.Do(t, u.Access, `mutation($id: ID!) { cancelIngest(videoId: $id) { id } }`, map[string]any{"id": id})
}

// waitVideoUntil polls a video until cond holds.
func waitVideoUntil(t *testing.T, env *apitest.Env, token, id string, cond func(apitest.VideoState) bool) apitest.VideoState {
	t.Helper()
	var v apitest.VideoState
	waitFor(t, ingestTimeout, func() (bool, string) {
		v = env.Video(t, token, id)
		return cond(v), fmt.Sprintf("%+v", v.Steps)
	})
	return v
}

// requireSettled waits until the video and its steps are as wanted (a
// step's wanted status may list alternatives: "SUCCEEDED|CANCELLED"), then
// checks they stay so while the runner winds the run down.
func requireSettled(t *testing.T, env *apitest.Env, token, id, status string, steps map[string]string) apitest.VideoState {
	t.Helper()
	matches := func(v apitest.VideoState) bool {
		if v.Status != status {
			return false
		}
		for name, st := range stepsOf(v) {
			if w, ok := steps[name]; ok && !slices.Contains(strings.Split(w, "|"), st.Status) {
				return false
			}
		}
		return true
	}
	v := waitVideoUntil(t, env, token, id, matches)
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		v = env.Video(t, token, id)
		require.True(t, matches(v), "the state changed after settling: %s %+v", v.Status, v.Steps)
	}
	return v
}

// The life of a short video: cancelled while queued, retried, done;
// done videos cannot be cancelled or retried; steps run again do not
// duplicate anything; delete removes rows and files.
func TestVideoLifecycle(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithRunner())
	u := env.Signup(t, "lifecycle@example.com")
	other := env.Signup(t, "lifecycle-other@example.com")
	otherID := env.UploadVideo(t, other.Access, other.WorkspaceID, makeClip(t, "OTHER 5"), "Other tenant")

	r := env.Upload(t, u.Access, u.WorkspaceID, makeClip(t, "LIFE 9"), "Life")
	var up struct{ UploadVideo struct{ ID, Status string } }
	r.Decode(t, &up)
	id := up.UploadVideo.ID
	require.Equal(t, "QUEUED", up.UploadVideo.Status)

	mutate := func(field, arg string) apitest.Response {
		return env.Do(t, u.Access, fmt.Sprintf(`mutation($id: ID!) { %s(%s: $id) { id status } }`, field, arg), map[string]any{"id": id})
	}
	var c struct{ CancelIngest struct{ Status string } }
	mutate("cancelIngest", "videoId").Decode(t, &c)
	require.Equal(t, "CANCELLED", c.CancelIngest.Status)
	// Almost always still queued; the runner may have just started probe.
	requireSettled(t, env, u.Access, id, "CANCELLED", map[string]string{
		"probe": "CANCELLED|SUCCEEDED", "keyframes": "CANCELLED", "audio": "CANCELLED", "ocr": "CANCELLED", "finalize": "CANCELLED",
	})

	var rt struct{ RetryIngest struct{ Status string } }
	mutate("retryIngest", "videoId").Decode(t, &rt)
	require.Equal(t, "QUEUED", rt.RetryIngest.Status)
	v := env.WaitVideo(t, u.Access, id, ingestTimeout, "SUCCEEDED", "FAILED", "CANCELLED")
	require.Equal(t, "SUCCEEDED", v.Status, "error: %s (step %s)", v.Error, v.FailedStep)
	for _, st := range v.Steps {
		require.Equal(t, apitest.DoneStatus(st.Name), st.Status, st.Name)
		if st.Name != "probe" {
			require.Equal(t, 1, st.Attempts, "%s ran once: the cancelled attempt ran nothing", st.Name)
		}
	}

	require.Equal(t, []string{"CONFLICT"}, mutate("cancelIngest", "videoId").Codes(), "a finished ingest cannot be cancelled")
	require.Equal(t, []string{"CONFLICT"}, mutate("retryIngest", "videoId").Codes(), "a finished ingest cannot be retried")

	t.Run("steps run twice do the work once", func(t *testing.T) {
		ctx := apitest.System()
		db := env.App.Store.Ent
		vid := pulid.ID(id)
		cur, err := db.Video.Get(ctx, vid)
		require.NoError(t, err)
		steps := &ingest.Steps{DB: db, Blobs: env.Blobs, Scratch: t.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		row := func(name string) (attempts int, updated time.Time) {
			st, err := db.IngestStep.Query().Where(ingeststep.VideoID(vid), ingeststep.Name(name)).Only(ctx)
			require.NoError(t, err)
			return st.Attempts, st.UpdatedAt
		}
		frameIDs := func() []pulid.ID {
			ids, err := db.Keyframe.Query().Where(keyframe.VideoID(vid)).Order(keyframe.ByOrdinal()).IDs(ctx)
			require.NoError(t, err)
			return ids
		}
		ocrCount := func() int {
			n, err := db.OCRText.Query().Where(ocrtext.VideoID(vid)).Count(ctx)
			require.NoError(t, err)
			return n
		}
		files := blobKeys(t, env, u.WorkspaceID, id, "")
		frames, texts := frameIDs(), ocrCount()
		require.NotEmpty(t, frames)
		require.NotZero(t, texts)

		// As in an attempt in flight (steps of a finished video do not run).
		setVideo := func(st video.Status) {
			require.NoError(t, db.Video.UpdateOneID(vid).SetStatus(st).Exec(ctx))
		}
		setVideo(video.StatusPROCESSING)
		defer setVideo(video.StatusSUCCEEDED)

		// Recorded SUCCEEDED: a no-op.
		n, at := row("keyframes")
		require.NoError(t, steps.Run(ctx, "keyframes", vid, cur.IngestAttempt))
		n2, at2 := row("keyframes")
		require.Equal(t, n, n2)
		require.Equal(t, at, at2, "a done step is not touched")
		require.Equal(t, frames, frameIDs())

		// Forced to run again: one set of rows and files, replaced.
		for _, name := range []string{"keyframes", "ocr"} {
			_, err = db.IngestStep.Update().Where(ingeststep.VideoID(vid), ingeststep.Name(name)).
				SetStatus(ingeststep.StatusQUEUED).Save(ctx)
			require.NoError(t, err)
			require.NoError(t, steps.Run(ctx, name, vid, cur.IngestAttempt))
			n3, _ := row(name)
			require.Equal(t, 2, n3, "%s ran again", name)
		}
		again := frameIDs()
		require.Len(t, again, len(frames))
		require.NotEqual(t, frames, again, "the keyframe rows were replaced")
		require.Equal(t, texts, ocrCount())
		require.Equal(t, files, blobKeys(t, env, u.WorkspaceID, id, ""))
		setVideo(video.StatusSUCCEEDED)
		v := env.Video(t, u.Access, id)
		require.Len(t, v.Keyframes, len(frames))
		require.Contains(t, strings.ToUpper(ocrText(v)), "LIFE 9")
	})

	t.Run("delete", func(t *testing.T) {
		require.NotEmpty(t, blobKeys(t, env, u.WorkspaceID, id, ""))
		var d struct{ DeleteVideo bool }
		env.Do(t, u.Access, `mutation($id: ID!) { deleteVideo(id: $id) }`, map[string]any{"id": id}).Decode(t, &d)
		require.True(t, d.DeleteVideo)

		var q struct{ Video *struct{ ID string } }
		env.Do(t, u.Access, `query($id: ID!) { video(id: $id) { id } }`, map[string]any{"id": id}).Decode(t, &q)
		require.Nil(t, q.Video)
		require.Empty(t, blobKeys(t, env, u.WorkspaceID, id, ""), "the video's files are gone")
		ctx, db, vid := apitest.System(), env.App.Store.Ent, pulid.ID(id)
		for table, count := range map[string]func(context.Context) (int, error){
			"videos":        db.Video.Query().Where(video.ID(vid)).Count,
			"ingest_steps":  db.IngestStep.Query().Where(ingeststep.VideoID(vid)).Count,
			"pipeline_runs": db.PipelineRun.Query().Where(pipelinerun.VideoID(vid)).Count,
			"keyframes":     db.Keyframe.Query().Where(keyframe.VideoID(vid)).Count,
			"ocr_texts":     db.OCRText.Query().Where(ocrtext.VideoID(vid)).Count,
		} {
			n, err := count(ctx)
			require.NoError(t, err)
			require.Zero(t, n, table)
		}
		require.Equal(t, []string{"NOT_FOUND"}, env.Do(t, u.Access, `mutation($id: ID!) { deleteVideo(id: $id) }`,
			map[string]any{"id": id}).Codes(), "deleting twice")

		// The other tenant's video is untouched.
		ov := env.WaitVideo(t, other.Access, otherID, ingestTimeout, "SUCCEEDED", "FAILED", "CANCELLED")
		require.Equal(t, "SUCCEEDED", ov.Status)
		require.NotEmpty(t, blobKeys(t, env, other.WorkspaceID, otherID, "keyframes/"))
	})
}

// An upload over the limit is refused on its file field and leaves nothing
// behind; one of exactly the limit is taken. No runner: nothing here ingests.
func TestUploadOverTheLimit(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	env := apitest.New(t, apitest.WithConfig(func(c *config.Config) { c.MaxUploadBytes = limit }))
	owner := env.Signup(t, "limits@example.com")
	ws := owner.WorkspaceID

	r := env.Upload(t, owner.Access, ws, writeFile(t, "big.mp4", make([]byte, limit+1)), "Too big")
	require.NotEmpty(t, r.Errors, "refused")
	n, err := env.App.Store.Ent.Video.Query().Where(video.WorkspaceID(pulid.ID(ws))).Count(apitest.System())
	require.NoError(t, err)
	require.Zero(t, n, "no video row is left")
	infos, err := env.Blobs.List(context.Background(), ws+"/")
	require.NoError(t, err)
	require.Empty(t, infos, "no file is left")
	require.Equal(t, []string{"BAD_USER_INPUT"}, r.Codes(), "%+v", r.Errors)
	require.Equal(t, "file", r.Errors[0].Extensions["field"], "%+v", r.Errors)
	require.Contains(t, r.Errors[0].Message, "1 MiB")

	r = env.Upload(t, owner.Access, ws, writeFile(t, "exact.mp4", make([]byte, limit)), "Exactly the limit")
	require.Empty(t, r.Errors, "a file of exactly the limit is accepted")
}

// Viewers cannot upload or change videos; other tenants cannot see or act
// on them. No runner: nothing here ingests.
func TestUploadAndIngestAccess(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	owner := env.Signup(t, "access-owner@example.com")
	ws := owner.WorkspaceID
	ctx, db := apitest.System(), env.App.Store.Ent
	videos := func() int {
		n, err := db.Video.Query().Where(video.WorkspaceID(pulid.ID(ws))).Count(ctx)
		require.NoError(t, err)
		return n
	}
	wsFiles := func() int {
		infos, err := env.Blobs.List(context.Background(), ws+"/")
		require.NoError(t, err)
		return len(infos)
	}
	id := env.UploadVideo(t, owner.Access, ws, writeFile(t, "small.mp4", []byte("small")), "Small")
	viewer := env.Signup(t, "access-viewer@example.com")
	env.AddMember(t, owner.Access, ws, viewer.Email, "VIEWER")
	stranger := env.Signup(t, "access-stranger@example.com")
	before, beforeFiles := videos(), wsFiles()

	r := env.Upload(t, viewer.Access, ws, writeFile(t, "v.mp4", []byte("viewer")), "By a viewer")
	require.Equal(t, []string{"FORBIDDEN"}, r.Codes())
	r = env.Upload(t, stranger.Access, ws, writeFile(t, "s.mp4", []byte("stranger")), "By a stranger")
	require.Len(t, r.Errors, 1)
	require.Contains(t, []string{"FORBIDDEN", "NOT_FOUND"}, r.Codes()[0])
	require.Equal(t, before, videos())
	require.Equal(t, beforeFiles, wsFiles())

	get := func(token string) *struct{ ID string } {
		var q struct{ Video *struct{ ID string } }
		env.Do(t, token, `query($id: ID!) { video(id: $id) { id } }`, map[string]any{"id": id}).Decode(t, &q)
		return q.Video
	}
	require.NotNil(t, get(viewer.Access), "a viewer sees the video")
	require.Nil(t, get(stranger.Access), "another tenant does not")

	mutations := map[string]string{
		"retryIngest":  `mutation($id: ID!) { retryIngest(videoId: $id) { id } }`,
		"cancelIngest": `mutation($id: ID!) { cancelIngest(videoId: $id) { id } }`,
		"deleteVideo":  `mutation($id: ID!) { deleteVideo(id: $id) }`,
	}
	for name, q := range mutations {
		require.Equal(t, []string{"NOT_FOUND"}, env.Do(t, stranger.Access, q, map[string]any{"id": id}).Codes(), "%s by another tenant", name)
		require.Equal(t, []string{"FORBIDDEN"}, env.Do(t, viewer.Access, q, map[string]any{"id": id}).Codes(), "%s by a viewer", name)
	}
	require.NotNil(t, get(owner.Access), "the video survived")
	require.Equal(t, before, videos())
	require.Equal(t, beforeFiles, wsFiles())
}
