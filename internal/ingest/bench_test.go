package ingest_test

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/ent/ingeststep"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/internal/apitest"
)

// BenchmarkIngest measures a real upload's trip through the pipeline: wall
// time per minute of video, and how much of it is orchestration (queueing,
// process start-up, bookkeeping) rather than the steps' own work, taken as
// the pipeline's critical path through the recorded step times.
func BenchmarkIngest(b *testing.B) {
	env := apitest.New(b, apitest.WithRunner())
	u := env.Signup(b, "bench@example.com")
	const seconds = 60
	clip := filepath.Join(b.TempDir(), "bench.mp4")
	out, err := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc=s=640x360:r=25:d=60",
		"-f", "lavfi", "-i", "sine=frequency=300:duration=60",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", clip).CombinedOutput()
	require.NoError(b, err, string(out))

	var wall, work time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		id := env.UploadVideo(b, u.Access, u.WorkspaceID, clip, "bench")
		v := env.WaitVideo(b, u.Access, id, 5*time.Minute, "SUCCEEDED", "FAILED")
		require.Equal(b, "SUCCEEDED", v.Status, v.Error)
		wall += time.Since(start)
		work += criticalPath(b, env, id)
	}
	b.StopTimer()
	perMin := wall.Seconds() / float64(b.N) / (seconds / 60.0)
	overhead := 1 - work.Seconds()/wall.Seconds()
	b.ReportMetric(perMin, "s/min-of-video")
	b.ReportMetric(100*overhead, "%orchestration")
	b.ReportMetric(work.Seconds()/float64(b.N), "s-step-work")
	b.Logf("ingest of a %d s 640x360 clip: %.1f s wall per minute of video, step work %.1f s, orchestration %.0f %%",
		seconds, perMin, work.Seconds()/float64(b.N), 100*overhead)
}

// criticalPath is the longest chain of step durations through the DAG:
// probe → max(keyframes → ocr, audio) → finalize.
func criticalPath(b *testing.B, env *apitest.Env, id string) time.Duration {
	steps, err := env.App.Store.Ent.IngestStep.Query().
		Where(ingeststep.VideoID(pulid.ID(id))).All(apitest.System())
	require.NoError(b, err)
	d := map[string]time.Duration{}
	for _, st := range steps {
		if st.StartedAt != nil && st.FinishedAt != nil {
			d[st.Name] = st.FinishedAt.Sub(*st.StartedAt)
		}
	}
	return d["probe"] + max(d["keyframes"]+d["ocr"], d["audio"]) + d["finalize"]
}
