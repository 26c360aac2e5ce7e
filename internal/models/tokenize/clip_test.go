package tokenize

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io"
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

// The expected ids below are what OpenAI's simple_tokenizer.py produces
// (run with the regex module; "a photo of a cat" is also the upstream
// model card's example). Hugging Face's CLIP tokenizer.json agrees except
// where noted: it does not unescape HTML, treats <|endoftext|> as an added
// token anywhere, and lowercases without Python's final sigma.
func TestCLIPEncode(t *testing.T) {
	t.Parallel()
	c := clip(t)

	tests := []struct {
		name string
		text string
		want []int64
	}{
		{"caption", "a photo of a cat", []int64{49406, 320, 1125, 539, 320, 2368, 49407}},
		{"case, spaces, punctuation runs, single digits", "Hello   World!! 2024",
			[]int64{49406, 3306, 1002, 748, 273, 271, 273, 275, 49407}},
		{"contractions", "it's we're they've I'm you'll he'd",
			[]int64{49406, 585, 568, 649, 982, 889, 1200, 328, 880, 592, 1342, 797, 1896, 49407}},
		{"HTML unescaped twice", "rock &amp; roll &amp;amp; caf&eacute;", []int64{49406, 2172, 261, 3341, 261, 15304, 49407}},
		{"special token in text", "a dog<|endoftext|>a cat", []int64{49406, 320, 1929, 49407, 320, 2368, 49407}},
		{"greek final sigma", "ΟΔΟΣ", []int64{49406, 138, 123, 138, 112, 138, 123, 139, 480, 49407}},
		// ς before an uncased letter, σ when a case-ignorable '.' precedes a
		// cased one.
		{"greek sigma in context", "ΑΣ文 ΑΣ.Β", []int64{49406, 138, 109, 139, 224, 29032, 485, 138, 109, 139, 481, 269, 138, 366, 49407}},
		{"CJK bytes", "北京 東京", []int64{49406, 161, 234, 245, 21078, 361, 48338, 21078, 361, 49407}},
		{"emoji", "emoji 😀👍🏽", []int64{49406, 16327, 12832, 43722, 49407}},
		{"empty", "", []int64{49406, 49407}},
		{"whitespace only", "  \t\n\u00a0 ", []int64{49406, 49407}},
		{"ypogegrammeni matches no pattern alternative", "A\u0345b", []int64{49406, 320, 321, 49407}},
		{"invalid UTF-8 is U+FFFD", "a\xffb", []int64{49406, 320, 39802, 321, 49407}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, c.Encode(tt.text))
			// A second call is served from the word cache.
			require.Equal(t, tt.want, c.Encode(tt.text))
		})
	}
}

func TestCLIPTruncation(t *testing.T) {
	t.Parallel()
	c := clip(t)

	// Each "cat" is one token, so 100 of them overflow the context.
	ids := c.Encode(strings.Repeat("cat ", 100))
	require.Len(t, ids, 77)
	require.Equal(t, int64(49406), ids[0])
	require.Equal(t, int64(49407), ids[76])
	for _, id := range ids[1:76] {
		require.Equal(t, int64(2368), id)
	}

	// Exactly 75 text tokens fit untouched.
	ids = c.Encode(strings.Repeat("cat ", 75))
	require.Len(t, ids, 77)
	require.Equal(t, int64(2368), ids[75])
}

func TestCLIPEncodeBatch(t *testing.T) {
	t.Parallel()
	c := clip(t)

	b := c.EncodeBatch([]string{"a photo of a cat", "a dog", ""})
	require.Equal(t, Batch{
		IDs: []int64{
			49406, 320, 1125, 539, 320, 2368, 49407,
			49406, 320, 1929, 49407, 49407, 49407, 49407,
			49406, 49407, 49407, 49407, 49407, 49407, 49407,
		},
		AttentionMask: []int64{
			1, 1, 1, 1, 1, 1, 1,
			1, 1, 1, 1, 0, 0, 0,
			1, 1, 0, 0, 0, 0, 0,
		},
		Size:   3,
		SeqLen: 7,
	}, b)

	b = c.EncodeBatch([]string{prose, "a cat"})
	require.Equal(t, 77, b.SeqLen)
	require.Equal(t, c.Encode(prose), b.IDs[:77])

	b = c.EncodeBatch(nil)
	require.Zero(t, b.Size)
	require.Empty(t, b.IDs)
}

func TestCLIPConcurrent(t *testing.T) {
	t.Parallel()
	c := clip(t)
	texts := sentences()
	want := make([][]int64, len(texts))
	for i, s := range texts {
		want[i] = c.Encode(s)
	}

	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 20 {
				// Vary the words so goroutines also fill the cache at once.
				s := texts[(g+n)%len(texts)]
				if got := c.Encode(s); !slices.Equal(got, want[(g+n)%len(texts)]) {
					t.Errorf("concurrent Encode(%q) = %v, want %v", s, got, want[(g+n)%len(texts)])
					return
				}
				c.Encode(strings.Repeat(string(rune('a'+g)), n+1))
			}
		})
	}
	wg.Wait()
}

// The vocabulary and merges built from OpenAI's BPE file must be exactly
// those of the Hugging Face export (vocab.json, merges.txt).
func TestCLIPVocabMatchesExport(t *testing.T) {
	t.Parallel()
	f, err := os.Open(testmedia.Model(t, "clip-vit-b32", "bpe_simple_vocab_16e6.txt.gz"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	vocab, merges, err := readCLIPBPE(f)
	require.NoError(t, err)

	data, err := os.ReadFile(testmedia.Model(t, "clip-vit-b32", "vocab.json"))
	require.NoError(t, err)
	var want map[string]int
	require.NoError(t, json.Unmarshal(data, &want))
	got := make(map[string]int, len(vocab))
	for id, tok := range vocab {
		got[tok] = id
	}
	require.Len(t, vocab, 49408)
	require.Equal(t, want, got)
	require.Equal(t, 49406, got["<|startoftext|>"])
	require.Equal(t, 49407, got["<|endoftext|>"])

	data, err = os.ReadFile(testmedia.Model(t, "clip-vit-b32", "merges.txt"))
	require.NoError(t, err)
	// The export's merges.txt has CRLF line ends.
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(string(data), "\r\n", "\n")), "\n")
	require.True(t, strings.HasPrefix(lines[0], "#version"))
	require.Len(t, merges, len(lines)-1)
	for i, m := range merges {
		require.Equal(t, lines[i+1], m[0]+" "+m[1], "merge %d", i)
	}
}

func TestLoadCLIP(t *testing.T) {
	t.Parallel()
	gz := testmedia.Model(t, "clip-vit-b32", "bpe_simple_vocab_16e6.txt.gz")
	plain := filepath.Join(t.TempDir(), "bpe.txt")
	gunzip(t, gz, plain, -1)

	c, err := LoadCLIP(plain)
	require.NoError(t, err, "the uncompressed file loads too")
	require.Equal(t, []int64{49406, 320, 1125, 539, 320, 2368, 49407}, c.Encode("a photo of a cat"))

	short := filepath.Join(t.TempDir(), "short.txt")
	gunzip(t, gz, short, 1000)
	_, err = LoadCLIP(short)
	require.ErrorIs(t, err, ErrFormat)

	bad := filepath.Join(t.TempDir(), "bad.txt")
	require.NoError(t, os.WriteFile(bad, []byte("#version: 0.2\ni n\nthree parts here\n"), 0o600))
	_, err = LoadCLIP(bad)
	require.ErrorIs(t, err, ErrFormat)

	_, err = LoadCLIP(filepath.Join(t.TempDir(), "missing.gz"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

// gunzip writes the first lines lines of the gzip file src to dst (all of
// them when lines < 0).
func gunzip(t *testing.T, src, dst string, lines int) {
	t.Helper()
	f, err := os.Open(src)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	out, err := os.Create(dst)
	require.NoError(t, err)
	defer out.Close()
	if lines < 0 {
		_, err = io.Copy(out, zr)
		require.NoError(t, err)
		return
	}
	sc := bufio.NewScanner(zr)
	for i := 0; i < lines && sc.Scan(); i++ {
		_, err = out.WriteString(sc.Text() + "\n")
		require.NoError(t, err)
	}
	require.NoError(t, sc.Err())
}

func BenchmarkLoadCLIP(b *testing.B) {
	path := testmedia.Model(b, "clip-vit-b32", "bpe_simple_vocab_16e6.txt.gz")
	for b.Loop() {
		if _, err := LoadCLIP(path); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "loads/s")
}

func BenchmarkCLIPEncode(b *testing.B) {
	c := clip(b)
	texts := sentences()
	b.ReportAllocs()
	tokens := 0
	for b.Loop() {
		for _, s := range texts {
			tokens += len(c.Encode(s))
		}
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkCLIPEncodeUncached measures BPE itself: the word cache is
// emptied every round, so every word misses it.
func BenchmarkCLIPEncodeUncached(b *testing.B) {
	path := testmedia.Model(b, "clip-vit-b32", "bpe_simple_vocab_16e6.txt.gz")
	c, err := LoadCLIP(path)
	require.NoError(b, err)
	texts := sentences()
	b.ReportAllocs()
	tokens := 0
	for b.Loop() {
		c.mu.Lock()
		clear(c.cache)
		c.mu.Unlock()
		for _, s := range texts {
			tokens += len(c.Encode(s))
		}
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}
