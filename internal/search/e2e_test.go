package search_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/apitest"
	"github.com/vindex/vindex/internal/models/openai/openaitest"
	"github.com/vindex/vindex/internal/testmedia"
)

// TestIngestedVideoIsFoundBySpeechAndOnScreenText runs the whole path:
// upload, the real pipeline with the hosted test providers, then search.
func TestIngestedVideoIsFoundBySpeechAndOnScreenText(t *testing.T) {
	t.Parallel()
	srv := openaitest.New(t)
	srv.Transcript = openaitest.JFKSegments
	b := setup(t, apitest.WithRunner(), apitest.WithHosted(srv))
	ws := b.user.WorkspaceID
	id := b.env.UploadVideo(t, b.user.Access, ws, testmedia.SpeechClip(t, "REFUND POLICY 42"), "JFK")
	v := b.env.WaitVideo(t, b.user.Access, id, 2*time.Minute, "SUCCEEDED", "FAILED")
	require.Equal(t, "SUCCEEDED", v.Status, "error: %s (step %s)", v.Error, v.FailedStep)

	r := b.search(t, b.user.Access, map[string]any{"workspaceId": ws, "query": "what your country can do for you"})
	require.NotEmpty(t, r.Hits)
	h := r.Hits[0]
	require.Equal(t, id, h.Video.ID)
	require.Contains(t, h.Modalities, "SPEECH")
	require.InDelta(t, 3.2, h.Start, 0.5, "%+v", h)
	require.GreaterOrEqual(t, h.End, 7.9)
	require.NotNil(t, h.Snippet)
	require.Contains(t, *h.Snippet, "country")
	require.NotNil(t, h.ThumbnailURL)
	require.Contains(t, h.URL, "#t=3.2")
	t.Logf("speech hit: %.2f–%.2f score %.3f %v %q", h.Start, h.End, h.Score, h.Modalities, *h.Snippet)

	r = b.search(t, b.user.Access, map[string]any{"workspaceId": ws, "query": "refund policy", "modalities": []string{"TEXT"}})
	require.NotEmpty(t, r.Hits)
	h = r.Hits[0]
	require.Equal(t, []string{"TEXT"}, h.Modalities)
	require.NotNil(t, h.Snippet)
	require.Contains(t, strings.ToUpper(*h.Snippet), "REFUND")
	require.Greater(t, h.Score, 0.8)

	// The media link plays: the signed URL serves the file.
	resp := b.env.Get(t, strings.SplitN(h.URL, "#", 2)[0], nil)
	require.Equal(t, 200, resp.StatusCode)
}
