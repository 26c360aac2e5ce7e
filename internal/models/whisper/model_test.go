package whisper

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models"
	"github.com/vindex/vindex/internal/models/ort"
	"github.com/vindex/vindex/internal/models/whisper/whispertest"
	"github.com/vindex/vindex/internal/testmedia"
)

// fakeModelDir writes generated models for spec (see whispertest), with the
// real tokens table and generation config, into a temporary directory.
func fakeModelDir(t testing.TB, spec whispertest.Spec) string {
	t.Helper()
	require.NoError(t, ort.Init(testmedia.ORTLib(t)))
	dir := t.TempDir()
	require.NoError(t, whispertest.WriteDir(dir, spec,
		testmedia.Model(t, "whisper-tiny.en", TokensFile),
		testmedia.Model(t, "whisper-tiny.en", "onnx-community", GenerationConfigFile)))
	return dir
}

// loadFake writes and loads a model for spec.
func loadFake(t testing.TB, spec whispertest.Spec) *Model {
	t.Helper()
	m, err := Load(fakeModelDir(t, spec), Options{Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	return m
}

func TestTranscribe(t *testing.T) {
	t.Parallel()
	jfk := testmedia.Path(t, testmedia.JFK)

	// A scripted phrase that loops until the context is full.
	phraseLoop := []int{tokAsk}
	phraseLoop = append(phraseLoop, repeat([]int{tokNot, tokWhat}, 200)...)
	// A scripted sentence repeated as segment after segment.
	var segmentLoop []int
	for i := range 40 {
		segmentLoop = append(segmentLoop, tokThank, tokYou, tokDot, ts(float64(i+1)*0.5))
		segmentLoop = append(segmentLoop, ts(float64(i+1)*0.5))
	}

	cases := []struct {
		name   string
		script []int // the first token is at position 0, after <|startoftranscript|>
		want   []models.Segment
	}{
		{"segments and times",
			[]int{ts(0), tokAsk, tokNot, ts(3), ts(3.5), tokWhat, tokYour, tokCountry, ts(7), tokEOT},
			[]models.Segment{{Start: 0, End: 3, Text: "ask not"}, {Start: 3.5, End: 7, Text: "what your country"}}},
		{"open segment runs to the end of the audio",
			[]int{ts(0), tokAsk, tokNot, tokEOT},
			[]models.Segment{{Start: 0, End: 11, Text: "ask not"}}},
		{"phrase loop is cut",
			append([]int{ts(0)}, phraseLoop...),
			[]models.Segment{{Start: 0, End: 11, Text: "ask not what"}}},
		{"segment loop is cut",
			append([]int{ts(0)}, segmentLoop...),
			[]models.Segment{{Start: 0, End: 0.5, Text: "Thank you."}}},
		{"end of text at once gives nothing", nil, nil},
		{"blank segments are dropped",
			[]int{ts(0), 220, ts(2), ts(2), tokAsk, ts(4), tokEOT},
			[]models.Segment{{Start: 2, End: 4, Text: "ask"}}},
		// The first step's logits put all mass on <|nocaptions|>; the rules
		// force <|0.00|> with probability 1/51, so the window's mean
		// log-probability tells unsure text (skipped) from confident text.
		{"no speech and unsure text is skipped",
			[]int{tokNoSpeech, tokAsk, tokEOT}, nil},
		{"no speech but confident text is kept",
			[]int{tokNoSpeech, tokAsk, tokNot, tokWhat, tokYour, tokEOT},
			[]models.Segment{{Start: 0, End: 11, Text: "ask not what your"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := loadFake(t, whispertest.Spec{Tokens: tc.script})
			var done []float64
			got, err := m.TranscribeFile(context.Background(), jfk, func(s float64) { done = append(done, s) })
			require.NoError(t, err)
			requireSegments(t, tc.want, got)
			require.Equal(t, []float64{11}, done)
		})
	}
}

func requireSegments(t *testing.T, want, got []models.Segment) {
	t.Helper()
	require.Len(t, got, len(want), "got %+v", got)
	for i := range want {
		require.InDelta(t, want[i].Start, got[i].Start, 1e-9, "segment %d start", i)
		require.InDelta(t, want[i].End, got[i].End, 1e-9, "segment %d end", i)
		require.Equal(t, want[i].Text, got[i].Text, "segment %d", i)
	}
}

func TestTranscribeLongForm(t *testing.T) {
	t.Parallel()
	// Every window says the same: a segment at 0–3 s, one at 12–20 s, and
	// an unfinished one from 20 s, so each window after the first starts
	// 20 s after the one before.
	m := loadFake(t, whispertest.Spec{Tokens: []int{
		ts(0), tokAsk, tokNot, ts(3), ts(12), tokWhat, ts(20), ts(20), tokCountry, tokEOT,
	}})
	var done []float64
	got, err := m.Transcribe(context.Background(), randomAudio(1, 70*SampleRate), func(s float64) { done = append(done, s) })
	require.NoError(t, err)
	requireSegments(t, []models.Segment{
		{Start: 0, End: 3, Text: "ask not"},
		{Start: 12, End: 20, Text: "what"},
		{Start: 20, End: 23, Text: "ask not"},
		{Start: 32, End: 40, Text: "what"},
		{Start: 40, End: 43, Text: "ask not"},
		{Start: 52, End: 60, Text: "what"},
		{Start: 60, End: 63, Text: "ask not"},
		// The last window's 72–80 s segment is past the end of the audio.
	}, got)
	require.Equal(t, []float64{20, 40, 60, 70}, done)
}

func TestTranscribeShortAudio(t *testing.T) {
	t.Parallel()
	m := loadFake(t, whispertest.Spec{Tokens: []int{ts(0), tokAsk, ts(1), tokEOT}})
	for _, n := range []int{0, hopLength - 1} { // no whole mel frame
		got, err := m.Transcribe(context.Background(), make([]float32, n), nil)
		require.NoError(t, err)
		require.Empty(t, got)
	}
}

func TestTranscribeCancel(t *testing.T) {
	t.Parallel()
	// Each window is one segment; ten minutes of audio is twenty windows.
	m := loadFake(t, whispertest.Spec{Tokens: []int{ts(0), tokAsk, ts(2), tokEOT}})
	audio := randomAudio(2, 10*60*SampleRate)

	t.Run("between windows", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		calls := 0
		_, err := m.Transcribe(ctx, audio, func(float64) { calls++; cancel() })
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, 1, calls, "no window after the cancel")
	})
	t.Run("within a window", func(t *testing.T) {
		t.Parallel()
		// One window takes far longer than this: a spectrogram, an encoder
		// run and a decoder step per token.
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		_, err := m.Transcribe(ctx, audio, func(float64) { t.Error("a window finished after the deadline") })
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestLoadRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		spec   whispertest.Spec
		config string // generation_config.json instead of the real one
		is     error
		msg    string
	}{
		{"encoder input name", whispertest.Spec{EncoderInput: "mel"}, "", ErrModelMismatch, `no encoder input "input_features"`},
		{"missing decoder input", whispertest.Spec{OmitInput: "past_key_values.3.encoder.value"}, "", ErrModelMismatch, `no decoder input "past_key_values.3.encoder.value"`},
		{"unknown decoder input", whispertest.Spec{ExtraInput: "cache_position"}, "", ErrModelMismatch, "unexpected decoder inputs cache_position"},
		{"vocabulary size", whispertest.Spec{Vocab: 51865}, "", ErrModelMismatch, `decoder output "logits" has shape [-1 -1 51865]`},
		{"multilingual config", whispertest.Spec{}, `{"is_multilingual": true, "no_timestamps_token_id": 50363, "eos_token_id": 50257, "decoder_start_token_id": 50258}`, nil, "multilingual models are not supported"},
		{"config without ids", whispertest.Spec{}, `{"suppress_tokens": [1]}`, nil, "missing no_timestamps_token_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := fakeModelDir(t, tc.spec)
			if tc.config != "" {
				require.NoError(t, os.WriteFile(filepath.Join(dir, GenerationConfigFile), []byte(tc.config), 0o644))
			}
			_, err := Load(dir, Options{})
			require.Error(t, err)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
			require.ErrorContains(t, err, tc.msg)
		})
	}

	t.Run("missing files", func(t *testing.T) {
		t.Parallel()
		dir := fakeModelDir(t, whispertest.Spec{})
		require.NoError(t, os.Remove(filepath.Join(dir, DecoderFile)))
		_, err := Load(dir, Options{})
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}

func BenchmarkDecoderSteps(b *testing.B) {
	// 446 distinct text tokens: the decoder runs to the 448-token context
	// without tripping the repetition guard.
	script := []int{ts(0)}
	for i := range textContext - 2 {
		script = append(script, 35000+i)
	}
	m := loadFake(b, whispertest.Spec{Tokens: script})
	audio := randomAudio(4, 10*SampleRate)
	// One step per sampled token: len(script) runs of the decoder.
	steps := len(script)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		got, err := m.Transcribe(context.Background(), audio, nil)
		require.NoError(b, err)
		require.Len(b, got, 1)
	}
	b.ReportMetric(float64(steps*b.N)/time.Since(start).Seconds(), "steps/s")
	testmedia.ReportPeakRSS(b)
}

// realModelDir returns $VINDEX_MODEL_MIRROR/whisper-tiny.en, where the real
// weights may have been mirrored, or skips.
func realModelDir(tb testing.TB) string {
	tb.Helper()
	mirror := os.Getenv("VINDEX_MODEL_MIRROR")
	if mirror == "" {
		tb.Skip("VINDEX_MODEL_MIRROR not set: no real whisper-tiny.en weights")
	}
	dir := filepath.Join(mirror, "whisper-tiny.en")
	for _, f := range []string{EncoderFile, DecoderFile, TokensFile, GenerationConfigFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			tb.Skipf("real model incomplete: %v", err)
		}
	}
	return dir
}

func loadReal(tb testing.TB) *Model {
	tb.Helper()
	dir := realModelDir(tb)
	require.NoError(tb, ort.Init(testmedia.ORTLib(tb)))
	m, err := Load(dir, Options{})
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, m.Close()) })
	return m
}

var nonWord = regexp.MustCompile(`[^a-z ]+`)

func words(s string) []string {
	return strings.Fields(nonWord.ReplaceAllString(strings.ToLower(s), ""))
}

func TestRealWhisper(t *testing.T) {
	t.Parallel()
	m := loadReal(t)
	got, err := m.TranscribeFile(context.Background(), testmedia.Path(t, testmedia.JFK), nil)
	require.NoError(t, err)
	var text []string
	for _, s := range got {
		require.Less(t, s.Start, s.End)
		require.LessOrEqual(t, s.End, 11.0)
		text = append(text, s.Text)
	}
	require.Equal(t,
		words("And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."),
		words(strings.Join(text, " ")))
}

func BenchmarkRealWhisper(b *testing.B) {
	m := loadReal(b)
	samples, err := ReadWAV(testmedia.Path(b, testmedia.JFK))
	require.NoError(b, err)
	audio := float64(len(samples)) / SampleRate
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		_, err := m.Transcribe(context.Background(), samples, nil)
		require.NoError(b, err)
	}
	elapsed := time.Since(start).Seconds() / float64(b.N)
	b.ReportMetric(elapsed/audio, "rtf")
	b.ReportMetric(audio/elapsed, "audio-s/s")
	testmedia.ReportPeakRSS(b)
}
