package tokenize

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/testmedia"
)

// prose is realistic input for the benchmarks: transcript- and
// caption-like English with punctuation, numbers and a few accents.
const prose = `And so, my fellow Americans: ask not what your country can do for you — ask what you can do for your country. ` +
	`The camera pans across a crowded night market in Taipei; vendors shout prices while steam rises from the dumpling stalls. ` +
	`At 00:42 the speaker says, "We'll ship version 2.5 by March 3rd, 2026," and the audience laughs. ` +
	`A golden retriever jumps into the lake, chasing a red frisbee, then shakes itself dry next to a café's terrace. ` +
	`Slides show revenue up 17.5% year-over-year, with EMEA growing fastest; the CFO's note reads "don't over-index on Q4." ` +
	`Close-up of a whiteboard: gradient descent, learning rate η = 3e-4, batch size 256, and a hand-drawn loss curve. `

// sentences splits prose into caption-sized texts.
func sentences() []string {
	var out []string
	for s := range strings.SplitSeq(prose, ". ") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// loaded caches each tokenizer per file so the many parallel tests share
// one (which also exercises concurrent use); loading is covered by its own
// tests and benchmarks.
var loaded sync.Map // path → func() (any, error)

func load[T any](t testing.TB, fn func(string) (T, error), elem ...string) T {
	t.Helper()
	path := testmedia.Model(t, elem...)
	once, _ := loaded.LoadOrStore(path, sync.OnceValues(func() (any, error) { return fn(path) }))
	v, err := once.(func() (any, error))()
	require.NoError(t, err)
	return v.(T)
}

func wordPiece(t testing.TB) *WordPiece {
	t.Helper()
	return load(t, LoadWordPiece, "all-MiniLM-L6-v2", "tokenizer.json")
}

func clip(t testing.TB) *CLIP {
	t.Helper()
	return load(t, LoadCLIP, "clip-vit-b32", "bpe_simple_vocab_16e6.txt.gz")
}

func whisperTokens(t testing.TB) *WhisperTokens {
	t.Helper()
	return load(t, LoadWhisperTokens, "whisper-tiny.en", "tiny.en-tokens.txt")
}
