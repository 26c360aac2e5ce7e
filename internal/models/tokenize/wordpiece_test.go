package tokenize

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/testmedia"
)

// The expected ids below are what Hugging Face tokenizers (0.22.2, the Rust
// library) produces from the same tokenizer.json; "hello world" can also be
// read off vocab.txt (hello = line 7593, world = line 2089).
func TestWordPieceEncode(t *testing.T) {
	t.Parallel()
	w := wordPiece(t)

	tests := []struct {
		name string
		text string
		want []int64
	}{
		{"plain", "hello world", []int64{101, 7592, 2088, 102}},
		{"empty", "", []int64{101, 102}},
		{"whitespace only", " \t\n\u00a0\u3000 ", []int64{101, 102}},
		{"accents stripped and lowercased", "Héllo, Wörld!", []int64{101, 7592, 1010, 2088, 999, 102}},
		{"dotted capital I", "İstanbul naïve CAFÉ", []int64{101, 9960, 15743, 7668, 102}},
		{"CJK ideographs split, unknown ones UNK", "北京欢迎你 and 東京", []int64{101, 1781, 1755, 100, 100, 100, 1998, 1879, 1755, 102}},
		{"ASCII symbols are punctuation", "$100.50, a+b=c! (really?) #1 @home ~x",
			[]int64{101, 1002, 2531, 1012, 2753, 1010, 1037, 1009, 1038, 1027, 1039, 999, 1006, 2428, 1029, 1007, 1001, 1015, 1030, 2188, 1066, 1060, 102}},
		{"subwords", "unaffable antidisestablishmentarianism",
			[]int64{101, 14477, 20961, 3468, 3424, 10521, 4355, 7875, 13602, 3672, 12199, 2964, 102}},
		{"unknown word", "emoji 😀 here", []int64{101, 7861, 29147, 2072, 100, 2182, 102}},
		{"special tokens in text", "hello [MASK] world[SEP]", []int64{101, 7592, 103, 2088, 102, 102}},
		{"control and format characters dropped", "a\x00b\u200bc\u00adde\x7f", []int64{101, 5925, 3207, 102}},
		{"whitespace kinds", "tab\there\nnew\u00a0line\u3000x", []int64{101, 21628, 2182, 2047, 2240, 1060, 102}},
		{"cyrillic and digits", "Привет мир, 123",
			[]int64{101, 1194, 16856, 10325, 25529, 15290, 22919, 1191, 10325, 16856, 1010, 13138, 102}},
		{"invalid UTF-8 dropped", "hello \xff\xfe wor\xc3ld", []int64{101, 7592, 2088, 102}},
		{"word over 100 chars", strings.Repeat("a", 101), []int64{101, 100, 102}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := w.Encode(tt.text, 0)
			require.Equal(t, tt.want, e.IDs)
			require.Equal(t, ones(len(tt.want)), e.AttentionMask)
			require.Equal(t, make([]int64, len(tt.want)), e.TypeIDs)
		})
	}
}

func TestWordPieceLongWordLimit(t *testing.T) {
	t.Parallel()
	w := wordPiece(t)

	// 100 characters is still split into pieces; 101 is one [UNK].
	ids := w.Encode(strings.Repeat("a", 100), 0).IDs
	require.Greater(t, len(ids), 3)
	require.NotContains(t, ids, int64(100))
}

func TestWordPieceTokens(t *testing.T) {
	t.Parallel()
	w := wordPiece(t)

	require.Equal(t, []string{"[CLS]", "una", "##ffa", "##ble", ",", "[MASK]", "[SEP]"}, w.Tokens("Unaffable, [MASK]"))
}

func TestWordPieceTruncation(t *testing.T) {
	t.Parallel()
	w := wordPiece(t)
	full := w.Encode(prose, 0).IDs
	require.Greater(t, len(full), 128)

	tests := []struct {
		name   string
		maxLen int
		want   []int64
	}{
		{"to maxLen with SEP last", 16, append(append([]int64{}, full[:15]...), 102)},
		{"long limit", 128, append(append([]int64{}, full[:127]...), 102)},
		{"limit above length", 10_000, full},
		{"zero means no limit", 0, full},
		{"limit below specials keeps them", 1, []int64{101, 102}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := w.Encode(prose, tt.maxLen)
			require.Equal(t, tt.want, e.IDs)
			require.Len(t, e.AttentionMask, len(tt.want))
			require.Len(t, e.TypeIDs, len(tt.want))
		})
	}
}

func TestWordPieceEncodeBatch(t *testing.T) {
	t.Parallel()
	w := wordPiece(t)
	texts := []string{"hello world", "", "unaffable antidisestablishmentarianism", prose}

	b := w.EncodeBatch(texts, 12)
	require.Equal(t, 4, b.Size)
	require.Equal(t, 12, b.SeqLen)
	require.Len(t, b.IDs, 4*12)
	require.Len(t, b.AttentionMask, 4*12)
	require.Equal(t, make([]int64, 4*12), b.TypeIDs)
	for r, text := range texts {
		want := w.Encode(text, 12).IDs
		row, mask := b.IDs[r*12:(r+1)*12], b.AttentionMask[r*12:(r+1)*12]
		require.Equal(t, want, row[:len(want)], "row %d", r)
		require.Equal(t, make([]int64, 12-len(want)), row[len(want):], "row %d is padded with [PAD]", r)
		require.Equal(t, append(ones(len(want)), make([]int64, 12-len(want))...), mask, "row %d", r)
	}

	// Padding goes to the longest row, not to maxLen.
	b = w.EncodeBatch([]string{"hello world", "hello"}, 512)
	require.Equal(t, Batch{
		IDs:           []int64{101, 7592, 2088, 102, 101, 7592, 102, 0},
		AttentionMask: []int64{1, 1, 1, 1, 1, 1, 1, 0},
		TypeIDs:       make([]int64, 8),
		Size:          2,
		SeqLen:        4,
	}, b)

	b = w.EncodeBatch(nil, 128)
	require.Zero(t, b.Size)
	require.Zero(t, b.SeqLen)
	require.Empty(t, b.IDs)
}

func TestWordPieceConcurrent(t *testing.T) {
	t.Parallel()
	w := wordPiece(t)
	texts := sentences()
	want := make([][]int64, len(texts))
	for i, s := range texts {
		want[i] = w.Encode(s, 64).IDs
	}

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				for i, s := range texts {
					if got := w.Encode(s, 64).IDs; !slices.Equal(got, want[i]) {
						t.Errorf("concurrent Encode(%q) = %v, want %v", s, got, want[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// tokenizer.json and vocab.txt must agree line for line (id = line - 1).
func TestWordPieceVocabMatchesVocabTxt(t *testing.T) {
	t.Parallel()
	w := wordPiece(t)
	f, err := os.Open(testmedia.Model(t, "all-MiniLM-L6-v2", "vocab.txt"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })

	sc := bufio.NewScanner(f)
	id := 0
	for ; sc.Scan(); id++ {
		require.Equal(t, sc.Text(), w.tokens[id], "id %d", id)
	}
	require.NoError(t, sc.Err())
	require.Equal(t, len(w.tokens), id)
}

func TestLoadWordPieceErrors(t *testing.T) {
	t.Parallel()
	orig, err := os.ReadFile(testmedia.Model(t, "all-MiniLM-L6-v2", "tokenizer.json"))
	require.NoError(t, err)

	// edit rewrites one field of the real file.
	edit := func(fn func(m map[string]any)) string {
		var m map[string]any
		require.NoError(t, json.Unmarshal(orig, &m))
		fn(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return string(b)
	}
	model := func(m map[string]any) map[string]any { return m["model"].(map[string]any) }

	tests := []struct {
		name    string
		content string
		want    error
	}{
		{"not JSON", "{", ErrFormat},
		{"BPE model", edit(func(m map[string]any) { model(m)["type"] = "BPE" }), ErrUnsupported},
		{"other normalizer", edit(func(m map[string]any) { m["normalizer"] = map[string]any{"type": "NFC"} }), ErrUnsupported},
		{"no pre-tokenizer", edit(func(m map[string]any) { m["pre_tokenizer"] = nil }), ErrUnsupported},
		{"unk not in vocab", edit(func(m map[string]any) { model(m)["unk_token"] = "<unk>" }), ErrFormat},
		{"duplicate ids", edit(func(m map[string]any) { model(m)["vocab"].(map[string]any)["hello"] = 0 }), ErrFormat},
		{"template without $A", edit(func(m map[string]any) {
			m["post_processor"].(map[string]any)["single"] = []any{}
		}), ErrFormat},
		{"special id outside vocabulary", edit(func(m map[string]any) {
			m["post_processor"].(map[string]any)["special_tokens"].(map[string]any)["[SEP]"].(map[string]any)["ids"] = []any{30522}
		}), ErrFormat},
		{"normalized added token", edit(func(m map[string]any) {
			m["added_tokens"].([]any)[0].(map[string]any)["normalized"] = true
		}), ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "tokenizer.json")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o600))
			_, err := LoadWordPiece(path)
			require.ErrorIs(t, err, tt.want)
		})
	}

	_, err = LoadWordPiece(filepath.Join(t.TempDir(), "missing.json"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func BenchmarkLoadWordPiece(b *testing.B) {
	path := testmedia.Model(b, "all-MiniLM-L6-v2", "tokenizer.json")
	for b.Loop() {
		if _, err := LoadWordPiece(path); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "loads/s")
}

func BenchmarkWordPieceEncode(b *testing.B) {
	w := wordPiece(b)
	texts := sentences()
	b.ReportAllocs()
	tokens := 0
	for b.Loop() {
		for _, s := range texts {
			tokens += len(w.Encode(s, 256).IDs)
		}
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkWordPieceEncodeBatch(b *testing.B) {
	w := wordPiece(b)
	texts := sentences()
	b.ReportAllocs()
	tokens := 0
	for b.Loop() {
		batch := w.EncodeBatch(texts, 256)
		for _, m := range batch.AttentionMask {
			tokens += int(m)
		}
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}

func ones(n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = 1
	}
	return s
}
