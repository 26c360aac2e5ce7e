package embed

import (
	"context"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models/tokenize"
	"github.com/vindex/vindex/internal/testmedia"
)

type textBundle struct {
	dir string
	tok *tokenize.WordPiece
}

// setupText writes a generated BERT model beside the real MiniLM tokenizer.
func setupText(t testing.TB, m bertModel) textBundle {
	t.Helper()
	initORT(t)
	dir := t.TempDir()
	writeBERT(t, filepath.Join(dir, TextModelFile), m)
	tokPath := testmedia.Model(t, "all-MiniLM-L6-v2", "tokenizer.json")
	link(t, tokPath, filepath.Join(dir, TextTokenizerFile))
	tok, err := tokenize.LoadWordPiece(tokPath)
	require.NoError(t, err)
	return textBundle{dir: dir, tok: tok}
}

// want computes the pooled, normalised vector of the generated model for
// text: the mean over its tokens of token value plus position term, which
// is what the graph yields at unmasked positions.
func (b textBundle) want(text string, typeIDs bool) []float64 {
	enc := b.tok.Encode(text, TextMaxTokens)
	v := make([]float64, 384)
	for p, id := range enc.IDs {
		for d := range v {
			v[d] += tokenValue(id, d) + float64(p)*float64(posWeight(d))
			if typeIDs {
				v[d] += float64(enc.TypeIDs[p]) * float64(typeWeight(d))
			}
		}
	}
	var norm float64
	for d := range v {
		v[d] /= float64(len(enc.IDs))
		norm += v[d] * v[d]
	}
	for d := range v {
		v[d] /= math.Sqrt(norm)
	}
	return v
}

// requireVector compares an embedding with the expected one within tol.
func requireVector(t *testing.T, want []float64, got []float32, tol float64, msg string) {
	t.Helper()
	require.Len(t, got, len(want), msg)
	for d := range want {
		require.InDelta(t, want[d], got[d], tol, "%s: dim %d", msg, d)
	}
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
		model bertModel
		batch int
	}{
		{"token types, batches of 2", bertModel{typeIDs: true}, 2},
		{"no token types, default batch", bertModel{}, 0},
		{"symbolic hidden size, batches of 3", bertModel{typeIDs: true, symbolicHidden: true}, 3},
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
				requireVector(t, b.want(text, tt.model.typeIDs), got[i], 1e-5, text)
			}
		})
	}
}

func TestTextPaddingMasked(t *testing.T) {
	t.Parallel()
	b := setupText(t, bertModel{typeIDs: true})
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
	b := setupText(t, bertModel{typeIDs: true})
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
	tokPath := testmedia.Model(t, "all-MiniLM-L6-v2", "tokenizer.json")
	tests := []struct {
		name     string
		setup    func(t *testing.T, dir string)
		is       error
		contains string
	}{
		{
			name:     "missing model",
			setup:    func(t *testing.T, dir string) { link(t, tokPath, filepath.Join(dir, TextTokenizerFile)) },
			is:       fs.ErrNotExist,
			contains: "model.onnx",
		},
		{
			name: "missing tokenizer",
			setup: func(t *testing.T, dir string) {
				writeBERT(t, filepath.Join(dir, TextModelFile), bertModel{})
			},
			is:       fs.ErrNotExist,
			contains: "tokenizer.json",
		},
		{
			name: "wrong input name",
			setup: func(t *testing.T, dir string) {
				link(t, tokPath, filepath.Join(dir, TextTokenizerFile))
				writeBERT(t, filepath.Join(dir, TextModelFile), bertModel{inputName: "ids"})
			},
			is:       ErrModelMismatch,
			contains: `no input "input_ids" (model has ids, attention_mask)`,
		},
		{
			name: "wrong output name",
			setup: func(t *testing.T, dir string) {
				link(t, tokPath, filepath.Join(dir, TextTokenizerFile))
				writeBERT(t, filepath.Join(dir, TextModelFile), bertModel{outputName: "pooler_output"})
			},
			is:       ErrModelMismatch,
			contains: `no output "last_hidden_state"`,
		},
		{
			name: "not a model",
			setup: func(t *testing.T, dir string) {
				link(t, tokPath, filepath.Join(dir, TextTokenizerFile))
				require.NoError(t, os.MkdirAll(filepath.Join(dir, "onnx"), 0o755))
				require.NoError(t, os.WriteFile(filepath.Join(dir, TextModelFile), []byte("garbage"), 0o600))
			},
			contains: "model.onnx",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			initORT(t)
			dir := t.TempDir()
			tt.setup(t, dir)
			_, err := LoadText(dir, Options{})
			require.Error(t, err)
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
			require.ErrorContains(t, err, tt.contains)
		})
	}
}

func BenchmarkTextEmbed(b *testing.B) {
	bundle := setupText(b, bertModel{typeIDs: true})
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
