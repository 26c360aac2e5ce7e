package openai_test

import (
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models/openai"
	"github.com/vindex/vindex/internal/models/openai/openaitest"
)

func TestEmbedBatchesInOrder(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	srv.ReverseData = true // the client must place vectors by their index
	inputs := make([]string, 600)
	for i := range inputs {
		inputs[i] = fmt.Sprintf("caption %d of a busy city street at night", i)
	}

	vecs, err := c.Embed(t.Context(), "text-embedding-3-small", inputs, 384)
	require.NoError(t, err)
	require.Len(t, vecs, len(inputs))
	for i, v := range vecs {
		require.Equal(t, openaitest.TextVector(inputs[i], 384), v, "vector %d", i)
	}

	var counts []int
	for _, r := range srv.Requests() {
		require.Equal(t, "/v1/embeddings", r.Path)
		require.Equal(t, "text-embedding-3-small", r.Model)
		counts = append(counts, r.Count)
	}
	require.Equal(t, []int{256, 256, 88}, counts)
}

func TestEmbedDimensions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		model string
		dims  int
		want  error
		size  int
	}{
		{"matryoshka model", "text-embedding-3-small", 384, nil, 384},
		{"native size", "text-embedding-3-small", 0, nil, 1536},
		{"server ignores dimensions", "nomic-embed-text", 384, openai.ErrDimensions, 0},
		{"model refuses dimensions", "text-embedding-ada-002", 384, openai.ErrRequest, 0},
		{"more than the model has", "text-embedding-3-small", 4096, openai.ErrRequest, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t)
			srv.EmbeddingModels["nomic-embed-text"] = openaitest.EmbeddingModel{Dims: 768, IgnoresDimensions: true}

			vecs, err := c.Embed(t.Context(), tc.model, []string{"a dog on a beach", "fireworks"}, tc.dims)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				require.Len(t, srv.Requests(), 1, "a permanent failure is not retried")
				return
			}
			require.NoError(t, err)
			for _, v := range vecs {
				require.Len(t, v, tc.size)
			}
		})
	}
}

func TestEmbedDimensionsErrorSaysWhatToDo(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	srv.EmbeddingModels["nomic-embed-text"] = openaitest.EmbeddingModel{Dims: 768, IgnoresDimensions: true}
	_, err := c.Embed(t.Context(), "nomic-embed-text", []string{"hello"}, 384)
	require.ErrorIs(t, err, openai.ErrDimensions)
	require.ErrorContains(t, err, "returned 768-dimensional vectors for dimensions=384")
	require.ErrorContains(t, err, "pick a model that supports dimensions")
}

func TestEmbedRejectsEmptyInput(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	_, err := c.Embed(t.Context(), "text-embedding-3-small", []string{"fine", " "}, 0)
	require.ErrorIs(t, err, openai.ErrRequest)
	require.Empty(t, srv.Requests())

	vecs, err := c.Embed(t.Context(), "text-embedding-3-small", nil, 0)
	require.NoError(t, err)
	require.Empty(t, vecs)
}

func TestEmbedImages(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	dir := t.TempDir()
	var paths []string
	var raw [][]byte
	for i := range 20 { // more than one image batch
		p := filepath.Join(dir, fmt.Sprintf("frame%02d.jpg", i))
		paths = append(paths, p)
		raw = append(raw, writeJPEG(t, p, color.RGBA{R: uint8(10 * i), G: 80, B: 160, A: 255}))
	}

	vecs, err := c.EmbedImages(t.Context(), "jina-clip-v2", paths, 512)
	require.NoError(t, err)
	require.Len(t, vecs, len(paths))
	for i, v := range vecs {
		require.Equal(t, openaitest.ImageVector(raw[i], 512), v, "image %d", i)
	}

	queries, err := c.EmbedTextsForImages(t.Context(), "jina-clip-v2", []string{"a blue frame"}, 512)
	require.NoError(t, err)
	require.Equal(t, [][]float32{openaitest.TextVector("a blue frame", 512)}, queries)

	var counts []int
	for _, r := range srv.Requests() {
		counts = append(counts, r.Count)
	}
	require.Equal(t, []int{16, 4, 1}, counts)
}

func TestEmbedImagesRejects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jpg := filepath.Join(dir, "frame.jpg")
	writeJPEG(t, jpg, color.RGBA{A: 255})
	text := filepath.Join(dir, "notes.jpg")
	require.NoError(t, os.WriteFile(text, []byte("just text"), 0o600))
	tests := []struct {
		name, model, path string
		requests          int
	}{
		{"text-only model", "text-embedding-3-small", jpg, 1},
		{"not an image", "jina-clip-v2", text, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t)
			_, err := c.EmbedImages(t.Context(), tc.model, []string{tc.path}, 512)
			require.ErrorIs(t, err, openai.ErrRequest)
			require.Len(t, srv.Requests(), tc.requests)
		})
	}
}

func writeJPEG(t *testing.T, path string, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 36))
	for y := range 36 {
		for x := range 64 {
			img.Set(x, y, c)
		}
	}
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, jpeg.Encode(f, img, nil))
	require.NoError(t, f.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
