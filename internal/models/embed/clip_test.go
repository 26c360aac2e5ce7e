package embed

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models/embed/embedtest"
	"github.com/vindex/vindex/internal/models/tokenize"
	"github.com/vindex/vindex/internal/testmedia"
)

type clipBundle struct {
	dir   string
	model embedtest.CLIP
	tok   *tokenize.CLIP
	cfg   *imageConfig
}

// setupCLIP writes generated encoders beside the real tokenizer and
// preprocessor config.
func setupCLIP(t testing.TB, m embedtest.CLIP) clipBundle {
	t.Helper()
	initORT(t)
	dir := t.TempDir()
	vocab := testmedia.Model(t, "clip-vit-b32", CLIPVocabFile)
	require.NoError(t, m.WriteDir(dir, vocab, testmedia.Model(t, "clip-vit-b32", CLIPPreprocessorFile)))
	tok, err := tokenize.LoadCLIP(vocab)
	require.NoError(t, err)
	return clipBundle{dir: dir, model: m, tok: tok, cfg: clipConfig(t)}
}

// wantImage is the generated vision model's vector for an image whose
// 224×224 crop is the uniform colour rgb, from transformers' formula.
func (b clipBundle) wantImage(rgb [3]uint8) []float64 {
	var means [3]float64
	for c := range means {
		means[c] = expected(b.cfg, c, rgb[c])
	}
	return b.model.WantImage(means)
}

// wantText is the generated text model's vector for text.
func (b clipBundle) wantText(text string) []float64 {
	return b.model.WantText(b.tok.Encode(text))
}

func writeImage(t testing.TB, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	if strings.HasSuffix(path, ".png") {
		require.NoError(t, png.Encode(f, img))
	} else {
		require.NoError(t, jpeg.Encode(f, img, &jpeg.Options{Quality: 100}))
	}
	require.NoError(t, f.Close())
}

func TestCLIPImages(t *testing.T) {
	t.Parallel()
	b := setupCLIP(t, embedtest.CLIP{})
	dir := t.TempDir()

	banded := uniform(640, 360, color.RGBA{0, 0, 255, 255})
	for y := range 360 {
		for x := range 100 {
			banded.Set(x, y, color.RGBA{255, 0, 0, 255})
			banded.Set(639-x, y, color.RGBA{255, 0, 0, 255})
		}
	}
	transparent := image.NewNRGBA(image.Rect(0, 0, 300, 200)) // all alpha 0
	files := []struct {
		name string
		img  image.Image
		rgb  [3]uint8
	}{
		{"red.png", uniform(320, 240, color.RGBA{200, 30, 90, 255}), [3]uint8{200, 30, 90}},
		{"banded.png", banded, [3]uint8{0, 0, 255}},
		{"gray.jpg", uniformGray(400, 300, 128), [3]uint8{128, 128, 128}},
		{"transparent.png", transparent, [3]uint8{255, 255, 255}},
		{"portrait.png", uniform(90, 160, color.RGBA{10, 250, 40, 255}), [3]uint8{10, 250, 40}},
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(dir, f.name)
		writeImage(t, paths[i], f.img)
	}

	for _, batch := range []int{1, 2, 32} {
		emb, err := LoadCLIP(b.dir, Options{BatchSize: batch})
		require.NoError(t, err)
		require.Equal(t, 512, emb.Dims())
		got, err := emb.EmbedImages(t.Context(), paths)
		require.NoError(t, err)
		require.Len(t, got, len(files))
		for i, f := range files {
			// ORT averages 50176 pixels in float32; a pixel off by one
			// level would move the vector by ~1e-2.
			requireVector(t, b.wantImage(f.rgb), got[i], 1e-4, f.name)
		}

		one, err := emb.EmbedImage(t.Context(), files[1].img)
		require.NoError(t, err)
		require.Equal(t, got[1], one)

		none, err := emb.EmbedImages(t.Context(), nil)
		require.NoError(t, err)
		require.Empty(t, none)
		require.NoError(t, emb.Close())
	}
}

func TestCLIPTexts(t *testing.T) {
	t.Parallel()
	texts := []string{
		"a photo of a cat",
		"",
		"a night street in the city with cars and lights",
		strings.Repeat("a very long caption that overflows the context ", 12), // beyond 77 tokens
		"dog",
		"ask not what your country can do for you",
	}
	tests := []struct {
		name  string
		model embedtest.CLIP
		batch int
	}{
		{"attention mask, batches of 4", embedtest.CLIP{TextMask: true}, 4},
		{"no attention mask, batches of 1", embedtest.CLIP{}, 1},
		{"symbolic sizes", embedtest.CLIP{SymbolicDims: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupCLIP(t, tt.model)
			emb, err := LoadCLIP(b.dir, Options{BatchSize: tt.batch, Threads: 1})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, emb.Close()) })
			require.Equal(t, 512, emb.Dims())
			got, err := emb.EmbedTexts(t.Context(), texts)
			require.NoError(t, err)
			require.Len(t, got, len(texts))
			for i, text := range texts {
				requireVector(t, b.wantText(text), got[i], 1e-5, text)
			}
		})
	}
}

func TestCLIPBadInput(t *testing.T) {
	t.Parallel()
	b := setupCLIP(t, embedtest.CLIP{})
	emb, err := LoadCLIP(b.dir, Options{BatchSize: 2})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, emb.Close()) })

	dir := t.TempDir()
	good := filepath.Join(dir, "good.png")
	writeImage(t, good, uniform(50, 50, color.White))
	bad := filepath.Join(dir, "bad.jpg")
	require.NoError(t, os.WriteFile(bad, []byte("\xff\xd8 truncated"), 0o600))

	_, err = emb.EmbedImages(t.Context(), []string{good, good, good, bad})
	require.ErrorIs(t, err, ErrBadImage)
	require.ErrorContains(t, err, bad)

	_, err = emb.EmbedImages(t.Context(), []string{good, filepath.Join(dir, "gone.png")})
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.ErrorContains(t, err, "gone.png")

	_, err = emb.EmbedImage(t.Context(), image.NewGray(image.Rect(0, 0, 10, 0)))
	require.ErrorIs(t, err, ErrBadImage)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = emb.EmbedImages(ctx, []string{good})
	require.ErrorIs(t, err, context.Canceled)
	_, err = emb.EmbedTexts(ctx, []string{"a cat"})
	require.ErrorIs(t, err, context.Canceled)
	_, err = emb.EmbedImage(ctx, uniform(50, 50, color.White))
	require.ErrorIs(t, err, context.Canceled)
}

func TestLoadCLIPErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		model    embedtest.CLIP
		remove   string
		config   string
		is       error
		contains string
	}{
		{name: "missing vision model", remove: CLIPVisionFile, is: fs.ErrNotExist, contains: "vision_model_quantized.onnx"},
		{name: "missing text model", remove: CLIPTextFile, is: fs.ErrNotExist, contains: "text_model_quantized.onnx"},
		{name: "missing vocabulary", remove: CLIPVocabFile, is: fs.ErrNotExist, contains: CLIPVocabFile},
		{name: "missing config", remove: CLIPPreprocessorFile, is: fs.ErrNotExist, contains: CLIPPreprocessorFile},
		{
			name: "wrong vision input", model: embedtest.CLIP{VisionInput: "image"},
			is: ErrModelMismatch, contains: `vision model: model does not match the expected export: no input "pixel_values" (model has image)`,
		},
		{
			name: "wrong text output", model: embedtest.CLIP{TextOutput: "last_hidden_state"},
			is: ErrModelMismatch, contains: `text model: model does not match the expected export: no output "text_embeds"`,
		},
		{
			name: "pixel size", model: embedtest.CLIP{PixelSize: 256},
			is: ErrModelMismatch, contains: "pixel_values is [-1 3 256 256] but preprocessing yields [batch 3 224 224]",
		},
		{
			name: "embedding sizes differ", model: embedtest.CLIP{TextDims: 256},
			is: ErrModelMismatch, contains: "image embeddings have 512 dimensions, text embeddings 256",
		},
		{
			name: "unsupported resample", config: `{"resample": 0}`,
			is: ErrUnsupportedConfig, contains: CLIPPreprocessorFile,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupCLIP(t, tt.model)
			if tt.remove != "" {
				require.NoError(t, os.Remove(filepath.Join(b.dir, tt.remove)))
			}
			if tt.config != "" {
				path := filepath.Join(b.dir, CLIPPreprocessorFile)
				require.NoError(t, os.Remove(path))
				require.NoError(t, os.WriteFile(path, []byte(tt.config), 0o600))
			}
			_, err := LoadCLIP(b.dir, Options{})
			require.ErrorIs(t, err, tt.is)
			require.ErrorContains(t, err, tt.contains)
		})
	}
}

// keyframes writes n distinct 1280×720 JPEGs, the size and roughly the
// content (smooth gradients with some texture, quality 90) of real
// keyframes.
func keyframes(b *testing.B, n int) []string {
	dir := b.TempDir()
	paths := make([]string, n)
	for i := range paths {
		paths[i] = filepath.Join(dir, fmt.Sprintf("frame%02d.jpg", i))
		f, err := os.Create(paths[i])
		require.NoError(b, err)
		require.NoError(b, jpeg.Encode(f, keyframe(i), &jpeg.Options{Quality: 90}))
		require.NoError(b, f.Close())
	}
	return paths
}

func keyframe(seed int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 1280, 720))
	for y := range 720 {
		for x := range 1280 {
			tex := 20 * math.Sin(float64(x*y+seed)*0.01)
			img.SetRGBA(x, y, color.RGBA{
				uint8(float64(x/6+seed) + tex), uint8(y / 3), uint8(float64((x+y)/8) - tex), 255,
			})
		}
	}
	return img
}

func BenchmarkCLIPImages(b *testing.B) {
	bundle := setupCLIP(b, embedtest.CLIP{})
	emb, err := LoadCLIP(bundle.dir, Options{})
	require.NoError(b, err)
	b.Cleanup(func() { emb.Close() })
	paths := keyframes(b, 16)
	for b.Loop() {
		if _, err := emb.EmbedImages(b.Context(), paths); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(paths))/b.Elapsed().Seconds(), "images/s")
	testmedia.ReportPeakRSS(b)
}

func BenchmarkCLIPTexts(b *testing.B) {
	bundle := setupCLIP(b, embedtest.CLIP{})
	emb, err := LoadCLIP(bundle.dir, Options{})
	require.NoError(b, err)
	b.Cleanup(func() { emb.Close() })
	texts := make([]string, 256)
	for i := range texts {
		texts[i] = strings.Repeat("a person walking a dog ", 1+i%8)
	}
	for b.Loop() {
		if _, err := emb.EmbedTexts(b.Context(), texts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "texts/s")
}
