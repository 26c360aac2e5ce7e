package ingest_test

import (
	"database/sql"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pgvector/pgvector-go"
	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/apitest"
	"github.com/vindex/vindex/internal/config"
	"github.com/vindex/vindex/internal/models"
	"github.com/vindex/vindex/internal/models/openai/openaitest"
	"github.com/vindex/vindex/internal/testmedia"
)

// speechClip is the JFK recording over a slide showing text.
func speechClip(t *testing.T, text string) string {
	t.Helper()
	return render(t, "speech.mp4",
		"-f", "lavfi", "-i", "color=c=white:s=640x360:d=11,"+drawText(text),
		"-i", testmedia.Path(t, testmedia.JFK), "-map", "0:v", "-map", "1:a")
}

// hosted points every modality at an in-process OpenAI-compatible server.
func hosted(srv *openaitest.Server) apitest.Option {
	return apitest.WithConfig(func(c *config.Config) {
		c.Models.Transcriber, c.Models.TextEmbedder, c.Models.ImageEmbedder = "openai", "openai", "openai"
		c.Models.OpenAIBaseURL, c.Models.OpenAIAPIKey = srv.URL(), srv.Key
		c.Models.OpenAIImageModel = "jina-clip-v2"
	})
}

type textHit struct {
	Source     string
	Start, End float64
	Content    string
	Model      string
}

// nearestText is the workspace's text passage closest to the query's
// vector, as search will ask pgvector for it.
func nearestText(t *testing.T, env *apitest.Env, ws string, query []float32) textHit {
	t.Helper()
	db, err := sql.Open("pgx", env.DatabaseURL)
	require.NoError(t, err)
	defer db.Close()
	var h textHit
	err = db.QueryRowContext(t.Context(), `SELECT source, start_seconds, end_seconds, content, model FROM text_embeddings
		WHERE workspace_id = $1 ORDER BY embedding <=> $2 LIMIT 1`, ws, pgvector.NewVector(query)).
		Scan(&h.Source, &h.Start, &h.End, &h.Content, &h.Model)
	require.NoError(t, err)
	return h
}

func countRows(t *testing.T, env *apitest.Env, q string, args ...any) int {
	t.Helper()
	db, err := sql.Open("pgx", env.DatabaseURL)
	require.NoError(t, err)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRowContext(t.Context(), q, args...).Scan(&n))
	return n
}

func TestHostedProvidersIndexSpeechTextAndFrames(t *testing.T) {
	t.Parallel()
	srv := openaitest.New(t)
	srv.Transcript = []models.Segment{
		{Start: 0, End: 3.2, Text: " And so my fellow Americans,"},
		{Start: 3.2, End: 7.9, Text: " ask not what your country can do for you,"},
		{Start: 7.9, End: 11, Text: " ask what you can do for your country."},
	}
	env := apitest.New(t, apitest.WithRunner(), hosted(srv))
	u := env.Signup(t, "hosted@example.com")
	id := env.UploadVideo(t, u.Access, u.WorkspaceID, speechClip(t, "REFUND POLICY 42"), "JFK")
	v := env.WaitVideo(t, u.Access, id, ingestTimeout, "SUCCEEDED", "FAILED")
	require.Equal(t, "SUCCEEDED", v.Status, "error: %s (step %s)", v.Error, v.FailedStep)
	for _, st := range v.Steps {
		require.Equal(t, "SUCCEEDED", st.Status, "%s: %s %s", st.Name, st.Error, st.Message)
	}
	require.Equal(t, []string{"probe", "keyframes", "audio", "ocr", "transcribe", "embed-text", "embed-frames", "finalize"}, stepNames(v))

	require.NotNil(t, v.Transcript)
	require.Equal(t, "openai:whisper-1", v.Transcript.Model)
	require.False(t, v.Transcript.Fallback)
	require.Len(t, v.Transcript.Segments, 3)
	require.Equal(t, "ask not what your country can do for you,", v.Transcript.Segments[1].Text)
	require.InDelta(t, 3.2, v.Transcript.Segments[1].Start, 1e-9)

	caps := v.Capabilities
	require.True(t, caps.Speech.Indexed, "%+v", caps.Speech)
	require.Equal(t, "openai:whisper-1", *caps.Speech.Model)
	require.True(t, caps.OnScreenText.Indexed, "%+v", caps.OnScreenText)
	require.True(t, caps.Visual.Indexed, "%+v", caps.Visual)
	require.Equal(t, "openai:jina-clip-v2/512", *caps.Visual.Model)

	// The vectors are in the workspace's own tables, labelled with their model.
	require.Equal(t, 3, countRows(t, env, `SELECT count(*) FROM text_embeddings WHERE video_id = $1 AND source = 'SPEECH'`, id))
	require.Positive(t, countRows(t, env, `SELECT count(*) FROM "text_embeddings_`+u.WorkspaceID+`" WHERE video_id = $1 AND source = 'TEXT'`, id))
	require.Equal(t, len(v.Keyframes), countRows(t, env, `SELECT count(*) FROM "frame_embeddings_`+u.WorkspaceID+`" WHERE video_id = $1 AND model = 'openai:jina-clip-v2/512'`, id))

	hit := nearestText(t, env, u.WorkspaceID, openaitest.TextVector("what your country can do for you", 384))
	require.Equal(t, textHit{Source: "SPEECH", Start: 3.2, End: 7.9, Content: "ask not what your country can do for you,", Model: "openai:text-embedding-3-small/384"}, hit)
	hit = nearestText(t, env, u.WorkspaceID, openaitest.TextVector("refund policy", 384))
	require.Equal(t, "TEXT", hit.Source)
	require.Contains(t, strings.ToUpper(hit.Content), "REFUND POLICY")

	// A video indexed by an older model is found stale and reindexed; the
	// current ones are left alone.
	var n struct{ ReindexWorkspace int }
	env.Do(t, u.Access, `mutation($ws: ID!) { reindexWorkspace(workspaceId: $ws) }`, map[string]any{"ws": u.WorkspaceID}).Decode(t, &n)
	require.Equal(t, 0, n.ReindexWorkspace, "nothing is stale")
	require.Equal(t, 1, countRows(t, env, `WITH u AS (UPDATE videos SET text_model = 'all-minilm-l6-v2@old' WHERE id = $1 RETURNING 1) SELECT count(*) FROM u`, id))
	env.Do(t, u.Access, `mutation($ws: ID!) { reindexWorkspace(workspaceId: $ws) }`, map[string]any{"ws": u.WorkspaceID}).Decode(t, &n)
	require.Equal(t, 1, n.ReindexWorkspace)
	v = env.WaitVideo(t, u.Access, id, ingestTimeout, "SUCCEEDED", "FAILED")
	require.Equal(t, "SUCCEEDED", v.Status, "error: %s (step %s)", v.Error, v.FailedStep)
	require.Equal(t, "tesseract+openai:text-embedding-3-small/384", *v.Capabilities.OnScreenText.Model)
	for _, st := range v.Steps {
		switch st.Name {
		case "transcribe", "embed-text", "embed-frames", "finalize":
			require.Equal(t, 2, st.Attempts, "%s ran again", st.Name)
		default:
			require.Equal(t, 1, st.Attempts, "%s did not", st.Name)
		}
	}
	require.Equal(t, 3, countRows(t, env, `SELECT count(*) FROM text_embeddings WHERE video_id = $1 AND source = 'SPEECH'`, id), "replaced, not added")
}

func TestNoModelsEndsSucceededWithStepsSkipped(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithRunner(), apitest.WithConfig(func(c *config.Config) {
		c.Models.Transcriber, c.Models.TextEmbedder, c.Models.ImageEmbedder = "whisper", "local", "local"
	}))
	u := env.Signup(t, "nomodels@example.com")
	id := env.UploadVideo(t, u.Access, u.WorkspaceID, speechClip(t, "HELLO"), "No models")
	v := env.WaitVideo(t, u.Access, id, ingestTimeout, "SUCCEEDED", "FAILED")
	require.Equal(t, "SUCCEEDED", v.Status, "error: %s (step %s)", v.Error, v.FailedStep)
	want := map[string]string{"transcribe": "whisper-tiny.en", "embed-text": "all-minilm-l6-v2", "embed-frames": "clip-vit-b32"}
	for _, st := range v.Steps {
		model, isModelStep := want[st.Name]
		if !isModelStep {
			require.Equal(t, "SUCCEEDED", st.Status, st.Name)
			continue
		}
		require.Equal(t, "SKIPPED", st.Status, st.Name)
		require.Contains(t, st.Message, model, st.Name)
		require.Contains(t, st.Message, "VINDEX_MODEL_MIRROR", "%s says what to do", st.Name)
	}
	require.Nil(t, v.Transcript)
	for name, m := range map[string]apitest.Modality{"speech": v.Capabilities.Speech, "screen": v.Capabilities.OnScreenText, "visual": v.Capabilities.Visual} {
		require.False(t, m.Indexed, name)
		require.NotNil(t, m.Reason, name)
	}
	require.Contains(t, *v.Capabilities.Speech.Reason, "whisper-tiny.en")
	require.Zero(t, countRows(t, env, `SELECT count(*) FROM text_embeddings WHERE video_id = $1`, id))
}

// TestPocketsphinxFallbackMakesSpeechSearchable: without Whisper, speech
// falls back to pocketsphinx, labelled as such, and JFK's phrase is found
// at its time.
func TestPocketsphinxFallbackMakesSpeechSearchable(t *testing.T) {
	t.Parallel()
	srv := openaitest.New(t)
	env := apitest.New(t, apitest.WithRunner(), apitest.WithConfig(func(c *config.Config) {
		c.Models.Transcriber, c.Models.TextEmbedder, c.Models.ImageEmbedder = "pocketsphinx", "openai", "none"
		c.Models.OpenAIBaseURL, c.Models.OpenAIAPIKey = srv.URL(), srv.Key
	}))
	u := env.Signup(t, "sphinx@example.com")
	id := env.UploadVideo(t, u.Access, u.WorkspaceID, speechClip(t, "SPEECH"), "JFK fallback")
	v := env.WaitVideo(t, u.Access, id, ingestTimeout, "SUCCEEDED", "FAILED")
	require.Equal(t, "SUCCEEDED", v.Status, "error: %s (step %s)", v.Error, v.FailedStep)
	require.NotNil(t, v.Transcript)
	require.True(t, v.Transcript.Fallback)
	require.True(t, strings.HasPrefix(v.Transcript.Model, "pocketsphinx@"), v.Transcript.Model)
	require.True(t, v.Capabilities.Speech.Indexed)
	require.True(t, v.Capabilities.Speech.Fallback)
	for _, st := range v.Steps {
		if st.Name == "transcribe" {
			require.Contains(t, st.Message, "fallback")
		}
	}
	t.Logf("pocketsphinx heard: %+v", v.Transcript.Segments)

	hit := nearestText(t, env, u.WorkspaceID, openaitest.TextVector("what your country can do for you", 384))
	require.Equal(t, "SPEECH", hit.Source)
	// "ask not what your country can do for you" is spoken from about 3.5 s
	// to 8 s into the recording.
	require.Less(t, hit.Start, 8.0, "%+v", hit)
	require.Greater(t, hit.End, 4.0, "%+v", hit)
}
