package ingest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/apitest"
	"github.com/vindex/vindex/internal/testmedia"
)

func TestMain(m *testing.M) { apitest.Main(m) }

// ingestTimeout bounds one video's trip through the real pipeline; the
// queue passes every 3 s and each step is its own process.
const ingestTimeout = 2 * time.Minute

// makeClip renders a clip with known on-screen text, two scenes and a tone.
func makeClip(t *testing.T, text string) string {
	t.Helper()
	return testmedia.Render(t, "clip.mp4",
		"-f", "lavfi", "-i", "color=c=white:s=640x360:d=4,"+testmedia.DrawText(text),
		"-f", "lavfi", "-i", "color=c=navy:s=640x360:d=3",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=7",
		"-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]",
		"-map", "[v]", "-map", "2:a")
}

func TestUploadIngestsToKeyframesAndOCR(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithRunner())
	u := env.Signup(t, "ingest@example.com")
	clip := makeClip(t, "REFUND POLICY 42")

	id := env.UploadVideo(t, u.Access, u.WorkspaceID, clip, "Refunds")
	v := env.WaitVideo(t, u.Access, id, ingestTimeout, "SUCCEEDED", "FAILED")
	require.Equal(t, "SUCCEEDED", v.Status, "error: %s (step %s)", v.Error, v.FailedStep)
	require.InDelta(t, 7.0, *v.DurationSeconds, 0.2)
	for _, st := range v.Steps {
		require.Equal(t, apitest.DoneStatus(st.Name), st.Status, st.Name)
		require.Equal(t, 1.0, st.Progress, st.Name)
	}
	require.Equal(t, []string{"probe", "keyframes", "audio", "ocr", "transcribe", "embed-text", "embed-frames", "finalize"}, stepNames(v))

	require.GreaterOrEqual(t, len(v.Keyframes), 2, "a frame at the start and at the cut")
	require.InDelta(t, 0, v.Keyframes[0].Time, 0.05)
	require.True(t, hasKeyframeNear(v, 4.0), "keyframe at the scene cut: %+v", v.Keyframes)
	require.NotNil(t, v.ThumbnailURL)

	var ocr []string
	for _, o := range v.OCR {
		ocr = append(ocr, o.Text)
		require.Less(t, o.Time, 4.0, "the text is only on screen before the cut")
	}
	require.Contains(t, strings.ToUpper(strings.Join(ocr, " ")), "REFUND POLICY 42")

	// Media is served by signed URL, with Range support.
	resp := env.Get(t, v.Keyframes[0].URL, nil)
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))
	resp = env.Get(t, v.URL, map[string][]string{"Range": {"bytes=0-99"}})
	require.Equal(t, 206, resp.StatusCode)
	require.Equal(t, "100", resp.Header.Get("Content-Length"))
	resp = env.Get(t, v.URL+"x", nil)
	require.Equal(t, 403, resp.StatusCode, "a tampered signature is refused")
}

func stepNames(v apitest.VideoState) []string {
	var names []string
	for _, st := range v.Steps {
		names = append(names, st.Name)
	}
	return names
}

func hasKeyframeNear(v apitest.VideoState, at float64) bool {
	for _, k := range v.Keyframes {
		if k.Time > at-0.3 && k.Time < at+0.3 {
			return true
		}
	}
	return false
}

func TestRealClipIngests(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithRunner())
	u := env.Signup(t, "city@example.com")
	id := env.UploadVideo(t, u.Access, u.WorkspaceID, testmedia.Path(t, testmedia.City), "City at night")
	v := env.WaitVideo(t, u.Access, id, ingestTimeout, "SUCCEEDED", "FAILED")
	require.Equal(t, "SUCCEEDED", v.Status, "error: %s (step %s)", v.Error, v.FailedStep)
	require.NotEmpty(t, v.Keyframes)
	for _, st := range v.Steps {
		if st.Name == "audio" {
			require.Equal(t, "SKIPPED", st.Status, "the clip has no sound")
			require.Contains(t, st.Message, "no audio")
		}
	}
}
