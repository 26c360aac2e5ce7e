package tokenize

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/testmedia"
)

// gpt2Vocab is the byte-level vocabulary of the onnx-community Whisper
// tokenizer.json, keyed by GPT-2's byte→unicode spelling.
func gpt2Vocab(t *testing.T) map[string]int {
	t.Helper()
	data, err := os.ReadFile(testmedia.Model(t, "whisper-tiny.en", "onnx-community", "tokenizer.json"))
	require.NoError(t, err)
	var tj struct {
		Model struct {
			Vocab map[string]int `json:"vocab"`
		} `json:"model"`
	}
	require.NoError(t, json.Unmarshal(data, &tj))
	return tj.Model.Vocab
}

// gpt2Spell spells raw bytes the way GPT-2 vocabularies do.
func gpt2Spell(b []byte) string {
	runes, _ := bytesToUnicode()
	s := make([]rune, len(b))
	for i, c := range b {
		s[i] = runes[c]
	}
	return string(s)
}

// Every byte token must be the token of the same id in the Hugging Face
// tokenizer.json, once its spelling is mapped back to bytes.
func TestWhisperTokensMatchTokenizerJSON(t *testing.T) {
	t.Parallel()
	w := whisperTokens(t)
	vocab := gpt2Vocab(t)
	require.Equal(t, 50256, w.Len())
	require.Equal(t, 50256, vocab["<|endoftext|>"])

	for _, word := range []string{" country", " Americans", " fellow", "And", " ask"} {
		id, ok := vocab[gpt2Spell([]byte(word))]
		require.True(t, ok, "%q is one token", word)
		require.Equal(t, []byte(word), w.Bytes(id))
	}

	checked := 0
	for spelling, id := range vocab {
		if id >= w.Len() {
			continue
		}
		require.Equal(t, spelling, gpt2Spell(w.Bytes(id)), "id %d", id)
		checked++
	}
	require.Equal(t, w.Len(), checked)
}

func TestWhisperDecode(t *testing.T) {
	t.Parallel()
	w := whisperTokens(t)
	vocab := gpt2Vocab(t)
	id := func(b string) int {
		t.Helper()
		id, ok := vocab[gpt2Spell([]byte(b))]
		require.True(t, ok, "%q is one token", b)
		return id
	}
	const (
		eot          = 50256
		sot          = 50257
		noTimestamps = 50362
		timestamp0   = 50363
	)

	var jfk []int
	for _, tok := range []string{" And", " so", " my", " fellow", " Americans", ",", " ask", " not", " what", " your",
		" country", " can", " do", " for", " you", ",", " ask", " what", " you", " can", " do", " for", " your", " country", "."} {
		jfk = append(jfk, id(tok))
	}

	tests := []struct {
		name string
		ids  []int
		want string
	}{
		{"transcript with specials skipped", append(append([]int{sot, noTimestamps}, jfk...), timestamp0, eot),
			" And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."},
		{"empty", nil, ""},
		{"only specials", []int{sot, noTimestamps, eot}, ""},
		{"out of range ids skipped", []int{-1, id(" caf"), 1 << 20}, " caf"},
		// é is C3 A9: each byte is its own token here.
		{"character split across tokens", []int{id(" caf"), id("\xc3"), id("\xa9")}, " café"},
		{"incomplete character at the end left out", []int{id(" caf"), id("\xc3")}, " caf"},
		{"stray continuation byte", []int{id("\xa9"), id(" ok")}, "\uFFFD ok"},
		{"incomplete character mid-text", []int{id("\xc3"), id(" ok")}, "\uFFFD ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, w.Decode(tt.ids))
		})
	}
}

func TestWhisperBytes(t *testing.T) {
	t.Parallel()
	w := whisperTokens(t)

	require.Equal(t, []byte("!"), w.Bytes(0))
	require.Nil(t, w.Bytes(50256))
	require.Nil(t, w.Bytes(-1))

	b := w.Bytes(0)
	b[0] = 'x'
	require.Equal(t, []byte("!"), w.Bytes(0), "Bytes returns a copy")
}

func TestLoadWhisperTokensErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string
	}{
		{"empty", ""},
		{"ids out of order", "IQ== 0\nIw== 2\n"},
		{"bad base64", "IQ== 0\n!!! 1\n"},
		{"no id", "IQ==\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "tokens.txt")
			require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o600))
			_, err := LoadWhisperTokens(path)
			require.ErrorIs(t, err, ErrFormat)
		})
	}

	_, err := LoadWhisperTokens(filepath.Join(t.TempDir(), "missing.txt"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func BenchmarkLoadWhisperTokens(b *testing.B) {
	path := testmedia.Model(b, "whisper-tiny.en", "tiny.en-tokens.txt")
	for b.Loop() {
		if _, err := LoadWhisperTokens(path); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "loads/s")
}

func BenchmarkWhisperDecode(b *testing.B) {
	w := whisperTokens(b)
	// About a 30 s window's transcript, ids spread over the whole table.
	ids := make([]int, 224)
	for i := range ids {
		ids[i] = (i * 7919) % w.Len()
	}
	b.ReportAllocs()
	tokens := 0
	for b.Loop() {
		_ = w.Decode(ids)
		tokens += len(ids)
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}
