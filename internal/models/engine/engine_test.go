package engine_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/config"
	"github.com/vindex/vindex/internal/models/engine"
)

func engines(t *testing.T, f func(*config.Models)) *engine.Engines {
	t.Helper()
	cfg, err := config.FromEnv(func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	cfg.DataDir = t.TempDir()
	cfg.ModelMirror = t.TempDir() // empty: no local model can be had
	f(&cfg.Models)
	return engine.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestChoosesTheTranscriber(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		set      func(*config.Models)
		id       string // "" when unavailable
		fallback bool
		reason   []string
	}{
		{"auto falls back to pocketsphinx without Whisper", func(m *config.Models) {}, "pocketsphinx@0.8+5prealpha-en-us", true, nil},
		{"auto prefers a configured provider to a download", func(m *config.Models) { m.OpenAIBaseURL = "http://127.0.0.1:9/v1" }, "openai:whisper-1", false, nil},
		{"whisper only: unavailable says what to do", func(m *config.Models) { m.Transcriber = "whisper" }, "", false,
			[]string{"whisper-tiny.en@2575352", "vindex models pull whisper-tiny.en", "VINDEX_MODEL_MIRROR"}},
		{"downloads off", func(m *config.Models) { m.Transcriber, m.Download = "whisper", false }, "", false,
			[]string{"not downloaded", "VINDEX_MODEL_DOWNLOAD=off"}},
		{"none", func(m *config.Models) { m.Transcriber = "none" }, "", false, []string{"turned off (VINDEX_TRANSCRIBER=none)"}},
		{"pocketsphinx", func(m *config.Models) { m.Transcriber = "pocketsphinx" }, "pocketsphinx@0.8+5prealpha-en-us", true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tr, err := engines(t, c.set).Transcriber(t.Context())
			if c.id == "" {
				require.ErrorIs(t, err, engine.ErrUnavailable)
				for _, r := range c.reason {
					require.Contains(t, err.Error(), r)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.id, tr.ID())
			require.Equal(t, c.fallback, tr.Fallback())
		})
	}
}

func TestChoosesTheEmbedders(t *testing.T) {
	t.Parallel()
	e := engines(t, func(*config.Models) {})
	_, err := e.TextEmbedder(t.Context())
	require.ErrorIs(t, err, engine.ErrUnavailable)
	require.Contains(t, err.Error(), "all-minilm-l6-v2")
	_, err = e.ImageEmbedder(t.Context())
	require.ErrorIs(t, err, engine.ErrUnavailable)
	require.Contains(t, err.Error(), "clip-vit-b32")

	e = engines(t, func(m *config.Models) { m.OpenAIBaseURL = "http://127.0.0.1:9/v1" })
	te, err := e.TextEmbedder(t.Context())
	require.NoError(t, err)
	require.Equal(t, "openai:text-embedding-3-small/384", te.ID())
	_, err = e.ImageEmbedder(t.Context())
	require.ErrorIs(t, err, engine.ErrUnavailable, "no hosted image model is configured")

	e = engines(t, func(m *config.Models) { m.OpenAIBaseURL, m.OpenAIImageModel = "http://127.0.0.1:9/v1", "jina-clip-v2" })
	ie, err := e.ImageEmbedder(t.Context())
	require.NoError(t, err)
	require.Equal(t, "openai:jina-clip-v2/512", ie.ID())
}
