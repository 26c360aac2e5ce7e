package embedtest_test

import (
	"encoding/json"
	"image"
	"image/color"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models/embed"
	"github.com/vindex/vindex/internal/models/embed/embedtest"
	"github.com/vindex/vindex/internal/models/ort"
	"github.com/vindex/vindex/internal/models/tokenize"
	"github.com/vindex/vindex/internal/testmedia"
)

var texts = []string{"a dog runs on the beach", "", "ask not what your country can do for you"}

func requireVector(t *testing.T, want []float64, got []float32, tol float64, msg string) {
	t.Helper()
	require.Len(t, got, len(want), msg)
	for d := range want {
		require.InDelta(t, want[d], got[d], tol, "%s: dim %d", msg, d)
	}
}

func TestWriteTextDir(t *testing.T) {
	t.Parallel()
	require.NoError(t, ort.Init(testmedia.ORTLib(t)))
	tokPath := testmedia.Model(t, "all-MiniLM-L6-v2", "tokenizer.json")
	dir := t.TempDir()
	require.NoError(t, embedtest.WriteTextDir(dir, tokPath))

	emb, err := embed.LoadText(dir, embed.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, emb.Close()) })
	require.Equal(t, 384, emb.Dims())
	got, err := emb.Embed(t.Context(), texts)
	require.NoError(t, err)

	tok, err := tokenize.LoadWordPiece(tokPath)
	require.NoError(t, err)
	for i, text := range texts {
		requireVector(t, embedtest.BERT{}.Want(tok.Encode(text, embed.TextMaxTokens)), got[i], 1e-5, text)
	}
}

func TestWriteCLIPDir(t *testing.T) {
	t.Parallel()
	require.NoError(t, ort.Init(testmedia.ORTLib(t)))
	vocabPath := testmedia.Model(t, "clip-vit-b32", "bpe_simple_vocab_16e6.txt.gz")
	configPath := testmedia.Model(t, "clip-vit-b32", "preprocessor_config.json")
	dir := t.TempDir()
	require.NoError(t, embedtest.WriteCLIPDir(dir, vocabPath, configPath))

	emb, err := embed.LoadCLIP(dir, embed.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, emb.Close()) })
	require.Equal(t, 512, emb.Dims())

	got, err := emb.EmbedTexts(t.Context(), texts)
	require.NoError(t, err)
	tok, err := tokenize.LoadCLIP(vocabPath)
	require.NoError(t, err)
	for i, text := range texts {
		requireVector(t, embedtest.CLIP{}.WantText(tok.Encode(text)), got[i], 1e-5, text)
	}

	// A uniform image preprocesses to its rescaled, normalised colour.
	raw, err := os.ReadFile(configPath)
	require.NoError(t, err)
	var cfg struct {
		Mean [3]float64 `json:"image_mean"`
		Std  [3]float64 `json:"image_std"`
	}
	require.NoError(t, json.Unmarshal(raw, &cfg))
	rgb := [3]uint8{200, 30, 90}
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := range 240 {
		for x := range 320 {
			img.SetRGBA(x, y, color.RGBA{rgb[0], rgb[1], rgb[2], 255})
		}
	}
	var means [3]float64
	for c := range means {
		means[c] = (float64(rgb[c])/255 - cfg.Mean[c]) / cfg.Std[c]
	}
	vec, err := emb.EmbedImage(t.Context(), img)
	require.NoError(t, err)
	// ORT averages 50176 pixels in float32.
	requireVector(t, embedtest.CLIP{}.WantImage(means), vec, 1e-4, "uniform image")
}

func TestWriteDirMissingSource(t *testing.T) {
	t.Parallel()
	config := testmedia.Model(t, "clip-vit-b32", "preprocessor_config.json")
	gone := filepath.Join(t.TempDir(), "gone")
	tests := []struct {
		name  string
		write func(dir string) error
	}{
		{"tokenizer", func(dir string) error { return embedtest.WriteTextDir(dir, gone) }},
		{"vocabulary", func(dir string) error { return embedtest.WriteCLIPDir(dir, gone, config) }},
		{"preprocessor config", func(dir string) error { return embedtest.WriteCLIPDir(dir, config, gone) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.write(t.TempDir())
			require.ErrorIs(t, err, fs.ErrNotExist)
			require.ErrorContains(t, err, "copy gone")
		})
	}
}
