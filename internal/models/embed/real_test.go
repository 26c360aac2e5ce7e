package embed

import (
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/testmedia"
)

// The real weights cannot be downloaded on CI machines; these run where
// VINDEX_MODEL_MIRROR names a directory holding all-minilm-l6-v2/ and
// clip-vit-b32/ laid out as LoadText and LoadCLIP expect.

func mirrorDir(t testing.TB, model string) string {
	t.Helper()
	root := os.Getenv("VINDEX_MODEL_MIRROR")
	dir := filepath.Join(root, model)
	if st, err := os.Stat(dir); root == "" || err != nil || !st.IsDir() {
		t.Skipf("VINDEX_MODEL_MIRROR/%s is not a directory", model)
	}
	initORT(t)
	return dir
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestRealMiniLM(t *testing.T) {
	t.Parallel()
	emb, err := LoadText(mirrorDir(t, "all-minilm-l6-v2"), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, emb.Close()) })
	require.Equal(t, 384, emb.Dims())
	v, err := emb.Embed(t.Context(), []string{
		"A man is eating food.",
		"A man is eating a piece of bread.",
		"The girl is carrying a baby.",
	})
	require.NoError(t, err)
	require.Greater(t, dot(v[0], v[1]), dot(v[0], v[2]))
}

func TestRealCLIP(t *testing.T) {
	t.Parallel()
	emb, err := LoadCLIP(mirrorDir(t, "clip-vit-b32"), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, emb.Close()) })
	require.Equal(t, 512, emb.Dims())
	red, err := emb.EmbedImage(t.Context(), uniform(320, 240, color.RGBA{220, 20, 20, 255}))
	require.NoError(t, err)
	texts, err := emb.EmbedTexts(t.Context(), []string{"a plain red square", "a plain blue square"})
	require.NoError(t, err)
	require.Greater(t, dot(red, texts[0]), dot(red, texts[1]))
}

func BenchmarkRealMiniLM(b *testing.B) {
	emb, err := LoadText(mirrorDir(b, "all-minilm-l6-v2"), Options{})
	require.NoError(b, err)
	b.Cleanup(func() { emb.Close() })
	texts := make([]string, 64)
	for i := range texts {
		texts[i] = strings.Repeat("a transcript sentence about the scene on screen ", 1+i%4)
	}
	for b.Loop() {
		if _, err := emb.Embed(b.Context(), texts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "sentences/s")
	testmedia.ReportPeakRSS(b)
}

func BenchmarkRealCLIP(b *testing.B) {
	emb, err := LoadCLIP(mirrorDir(b, "clip-vit-b32"), Options{})
	require.NoError(b, err)
	b.Cleanup(func() { emb.Close() })
	paths := keyframes(b, 8)
	for b.Loop() {
		if _, err := emb.EmbedImages(b.Context(), paths); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(paths))/b.Elapsed().Seconds(), "images/s")
	testmedia.ReportPeakRSS(b)
}
