package embed

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models/embed/embedtest"
	"github.com/vindex/vindex/internal/models/tokenize"
	"github.com/vindex/vindex/internal/testmedia"
)

type textBundle struct {
	dir   string
	model embedtest.BERT
	tok   *tokenize.WordPiece
}

// setupText writes a generated BERT model beside the real MiniLM tokenizer.
func setupText(t testing.TB, m embedtest.BERT) textBundle {
	t.Helper()
	initORT(t)
	dir := t.TempDir()
	tokPath := testmedia.Model(t, "all-MiniLM-L6-v2", TextTokenizerFile)
	require.NoError(t, m.WriteDir(dir, tokPath))
	tok, err := tokenize.LoadWordPiece(tokPath)
	require.NoError(t, err)
	return textBundle{dir: dir, model: m, tok: tok}
}

// want is the generated model's vector for text.
func (b textBundle) want(text string) []float64 {
	return b.model.Want(b.tok.Encode(text, TextMaxTokens))
}

var sampleTexts = []string{
	"And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.",
	"hello world",
	"",
	"Ünïcödé naïve café — déjà vu 東京",
	strings.Repeat("a very long transcript segment that keeps going ", 60), // beyond 256 tokens
	"short",
	"The quick brown fox jumps over the lazy dog.",
}

func TestTextEmbed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		model embedtest.BERT
		batch int
	}{
		{"token types, batches of 2", embedtest.BERT{}, 2},
		{"no token types, default batch", embedtest.BERT{NoTypeIDs: true}, 0},
		{"symbolic hidden size, batches of 3", embedtest.BERT{SymbolicHidden: true}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupText(t, tt.model)
			emb, err := LoadText(b.dir, Options{BatchSize: tt.batch, Threads: 1})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, emb.Close()) })
			require.Equal(t, 384, emb.Dims())

			got, err := emb.Embed(t.Context(), sampleTexts)
			require.NoError(t, err)
			require.Len(t, got, len(sampleTexts))
			for i, text := range sampleTexts {
				requireVector(t, b.want(text), got[i], 1e-5, text)
			}
		})
	}
}

func TestTextPaddingMasked(t *testing.T) {
	t.Parallel()
	b := setupText(t, embedtest.BERT{})
	emb, err := LoadText(b.dir, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, emb.Close()) })

	alone, err := emb.Embed(t.Context(), []string{"hello world"})
	require.NoError(t, err)
	padded, err := emb.Embed(t.Context(), []string{strings.Repeat("padding makes this row much longer ", 10), "hello world"})
	require.NoError(t, err)
	require.InDeltaSlice(t, alone[0], padded[1], 1e-5)

	var norm float64
	for _, x := range padded[0] {
		norm += float64(x) * float64(x)
	}
	require.InDelta(t, 1, norm, 1e-5)

	none, err := emb.Embed(t.Context(), nil)
	require.NoError(t, err)
	require.Empty(t, none)
}

func TestTextCanceled(t *testing.T) {
	t.Parallel()
	b := setupText(t, embedtest.BERT{})
	emb, err := LoadText(b.dir, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, emb.Close()) })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = emb.Embed(ctx, sampleTexts)
	require.ErrorIs(t, err, context.Canceled)
}

func TestLoadTextErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		model    embedtest.BERT
		remove   string
		garbage  string
		is       error
		contains string
	}{
		{name: "missing model", remove: TextModelFile, is: fs.ErrNotExist, contains: "model.onnx"},
		{name: "missing tokenizer", remove: TextTokenizerFile, is: fs.ErrNotExist, contains: "tokenizer.json"},
		{
			name: "wrong input name", model: embedtest.BERT{InputName: "ids"},
			is: ErrModelMismatch, contains: `no input "input_ids" (model has ids, attention_mask, token_type_ids)`,
		},
		{
			name: "wrong output name", model: embedtest.BERT{OutputName: "pooler_output"},
			is: ErrModelMismatch, contains: `no output "last_hidden_state"`,
		},
		{name: "not a model", garbage: TextModelFile, contains: "model.onnx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupText(t, tt.model)
			if tt.remove != "" {
				require.NoError(t, os.Remove(filepath.Join(b.dir, tt.remove)))
			}
			if tt.garbage != "" {
				require.NoError(t, os.WriteFile(filepath.Join(b.dir, tt.garbage), []byte("garbage"), 0o600))
			}
			_, err := LoadText(b.dir, Options{})
			require.Error(t, err)
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
			require.ErrorContains(t, err, tt.contains)
		})
	}
}

func BenchmarkTextEmbed(b *testing.B) {
	bundle := setupText(b, embedtest.BERT{})
	emb, err := LoadText(bundle.dir, Options{})
	require.NoError(b, err)
	b.Cleanup(func() { emb.Close() })
	texts := make([]string, 256)
	for i := range texts {
		texts[i] = strings.Repeat("a sentence about a video moment ", 1+i%12)
	}
	for b.Loop() {
		if _, err := emb.Embed(b.Context(), texts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "sentences/s")
	testmedia.ReportPeakRSS(b)
}
