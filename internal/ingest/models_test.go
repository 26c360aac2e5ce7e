package ingest_test

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pgvector/pgvector-go"
	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/apitest"
	"github.com/vindex/vindex/internal/config"
	"github.com/vindex/vindex/internal/models"
	"github.com/vindex/vindex/internal/models/embed/embedtest"
	"github.com/vindex/vindex/internal/models/openai/openaitest"
	"github.com/vindex/vindex/internal/models/whisper/whispertest"
	"github.com/vindex/vindex/internal/testmedia"
)

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
	srv.Transcript = openaitest.JFKSegments
	env := apitest.New(t, apitest.WithRunner(), apitest.WithHosted(srv))
	u := env.Signup(t, "hosted@example.com")
	id := env.UploadVideo(t, u.Access, u.WorkspaceID, testmedia.SpeechClip(t, "REFUND POLICY 42"), "JFK")
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
	id := env.UploadVideo(t, u.Access, u.WorkspaceID, testmedia.SpeechClip(t, "HELLO"), "No models")
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
	for name, m := range map[string]apitest.Modality{"speech": v.Capabilities.Speech, "visual": v.Capabilities.Visual} {
		require.False(t, m.Indexed, name)
		require.NotNil(t, m.Reason, name)
	}
	require.Contains(t, *v.Capabilities.Speech.Reason, "whisper-tiny.en")
	// On-screen text is searchable by its words without any model.
	screen := v.Capabilities.OnScreenText
	require.True(t, screen.Indexed)
	require.Equal(t, "tesseract", *screen.Model)
	require.Contains(t, *screen.Reason, "all-minilm-l6-v2")
	require.Zero(t, countRows(t, env, `SELECT count(*) FROM text_embeddings WHERE video_id = $1 AND embedding IS NOT NULL`, id))
	require.Positive(t, countRows(t, env, `SELECT count(*) FROM text_embeddings WHERE video_id = $1 AND source = 'TEXT' AND content ILIKE '%hello%'`, id))
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
	id := env.UploadVideo(t, u.Access, u.WorkspaceID, testmedia.SpeechClip(t, "SPEECH"), "JFK fallback")
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

// localModels builds a mirror of generated stand-ins for the three local
// models (the real tokenizer and config files, generated ONNX graphs with
// the real exports' inputs and outputs) and a catalog pinning them, so the
// pipeline downloads, verifies and runs them exactly as it would the real
// weights. The Whisper stand-in says script in every 30 s window.
func localModels(t *testing.T, script []models.Segment) apitest.Option {
	t.Helper()
	mirror := t.TempDir()
	tokens := testmedia.Model(t, "whisper-tiny.en", "tiny.en-tokens.txt")
	ids, err := whispertest.Script(tokens, script...)
	require.NoError(t, err)
	require.NoError(t, whispertest.WriteDir(filepath.Join(mirror, "whisper-tiny.en"), whispertest.Spec{Tokens: ids},
		tokens, testmedia.Model(t, "whisper-tiny.en", "onnx-community", "generation_config.json")))
	require.NoError(t, embedtest.WriteTextDir(filepath.Join(mirror, "all-minilm-l6-v2"),
		testmedia.Model(t, "all-MiniLM-L6-v2", "tokenizer.json")))
	require.NoError(t, embedtest.WriteCLIPDir(filepath.Join(mirror, "clip-vit-b32"),
		testmedia.Model(t, "clip-vit-b32", "bpe_simple_vocab_16e6.txt.gz"), testmedia.Model(t, "clip-vit-b32", "preprocessor_config.json")))

	var catalog []models.Model
	for _, name := range []string{"whisper-tiny.en", "all-minilm-l6-v2", "clip-vit-b32"} {
		m := models.Model{Name: name, Version: "generated"}
		root := filepath.Join(mirror, name)
		require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			sum := sha256.Sum256(data)
			m.Files = append(m.Files, models.File{Path: rel, URL: "https://example.invalid/" + rel, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
			return nil
		}))
		catalog = append(catalog, m)
	}
	data, err := json.Marshal(catalog)
	require.NoError(t, err)
	catalogPath := filepath.Join(t.TempDir(), "catalog.json")
	require.NoError(t, os.WriteFile(catalogPath, data, 0o644))
	return apitest.WithConfig(func(c *config.Config) {
		c.Models.Transcriber, c.Models.TextEmbedder, c.Models.ImageEmbedder = "whisper", "local", "local"
		c.Models.Catalog, c.ModelMirror, c.Models.ORTLib = catalogPath, mirror, testmedia.ORTLib(t)
	})
}

// TestLocalModelsIndexEverything runs the local engines end to end: the
// steps fetch the models from the mirror into the data dir, verify them,
// load them on ONNX Runtime and index the video with them.
func TestLocalModelsIndexEverything(t *testing.T) {
	t.Parallel()
	script := []models.Segment{
		{Start: 0.3, End: 3.2, Text: " And so my fellow Americans,"},
		{Start: 3.2, End: 7.6, Text: " ask not what your country can do for you,"},
		{Start: 8, End: 10.98, Text: " ask what you can do for your country."},
	}
	env := apitest.New(t, apitest.WithRunner(), localModels(t, script))
	u := env.Signup(t, "local@example.com")
	id := env.UploadVideo(t, u.Access, u.WorkspaceID, testmedia.SpeechClip(t, "REFUND POLICY 42"), "JFK local")
	v := env.WaitVideo(t, u.Access, id, ingestTimeout, "SUCCEEDED", "FAILED")
	require.Equal(t, "SUCCEEDED", v.Status, "error: %s (step %s)", v.Error, v.FailedStep)
	for _, st := range v.Steps {
		require.Equal(t, "SUCCEEDED", st.Status, "%s: %s %s", st.Name, st.Error, st.Message)
	}
	require.NotNil(t, v.Transcript)
	require.Equal(t, "whisper-tiny.en@generated", v.Transcript.Model)
	require.False(t, v.Transcript.Fallback)
	require.Len(t, v.Transcript.Segments, len(script))
	for i, sg := range v.Transcript.Segments {
		require.Equal(t, strings.TrimSpace(script[i].Text), sg.Text)
		require.InDelta(t, script[i].Start, sg.Start, 1e-6)
		require.InDelta(t, script[i].End, sg.End, 1e-6)
	}
	require.Equal(t, "whisper-tiny.en@generated", *v.Capabilities.Speech.Model)
	require.True(t, v.Capabilities.Speech.Indexed)
	require.Equal(t, "tesseract+all-minilm-l6-v2@generated", *v.Capabilities.OnScreenText.Model)
	require.Equal(t, "clip-vit-b32@generated", *v.Capabilities.Visual.Model)
	require.Equal(t, len(script), countRows(t, env, `SELECT count(*) FROM text_embeddings WHERE video_id = $1 AND source = 'SPEECH' AND model = 'all-minilm-l6-v2@generated'`, id))
	require.Equal(t, len(v.Keyframes), countRows(t, env, `SELECT count(*) FROM frame_embeddings WHERE video_id = $1 AND model = 'clip-vit-b32@generated'`, id))
	// The vectors are unit length, as the embedders normalise them.
	require.Zero(t, countRows(t, env, `SELECT count(*) FROM text_embeddings WHERE video_id = $1 AND abs(vector_norm(embedding) - 1) > 1e-4`, id))
	require.Zero(t, countRows(t, env, `SELECT count(*) FROM frame_embeddings WHERE video_id = $1 AND abs(vector_norm(embedding) - 1) > 1e-4`, id))
	// The weights were fetched into the data dir and verified.
	_, err := os.Stat(filepath.Join(env.Config.DataDir, "models", "whisper-tiny.en", "onnx", "decoder_model_merged_quantized.onnx"))
	require.NoError(t, err)
}
