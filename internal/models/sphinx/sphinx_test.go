package sphinx_test

import (
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models"
	"github.com/vindex/vindex/internal/models/sphinx"
	"github.com/vindex/vindex/internal/testmedia"
)

const jfkText = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."

func TestAvailable(t *testing.T) {
	t.Parallel()
	require.NoError(t, sphinx.Available())
}

func TestTranscribeJFK(t *testing.T) {
	t.Parallel()
	segs, err := sphinx.Transcribe(t.Context(), testmedia.Path(t, testmedia.JFK))
	require.NoError(t, err)
	requireOrdered(t, segs, 11)

	var found bool
	for _, s := range segs {
		found = found || regexp.MustCompile(`\bcountry\b`).MatchString(s.Text)
	}
	require.True(t, found, "no segment says country: %v", segs)

	wer := wordErrorRate(jfkText, joined(segs))
	t.Logf("jfk.wav: WER %.2f, %d segments: %q", wer, len(segs), joined(segs))
	require.LessOrEqual(t, wer, 0.75)
}

func TestTranscribeSyntheticSpeech(t *testing.T) {
	t.Parallel()
	const sentence = "The weather today is sunny and warm, so we will walk to the park after lunch."
	dir := t.TempDir()
	raw, wav := filepath.Join(dir, "espeak.wav"), filepath.Join(dir, "speech.wav")
	run(t, "espeak-ng", "-v", "en-us", "-s", "150", "-w", raw, sentence)
	run(t, "ffmpeg", "-nostdin", "-loglevel", "error", "-i", raw, "-ar", "16000", "-ac", "1", "-sample_fmt", "s16", wav)

	segs, err := sphinx.Transcribe(t.Context(), wav)
	require.NoError(t, err)
	require.NotEmpty(t, segs)
	requireOrdered(t, segs, wavSeconds(t, wav))
	t.Logf("espeak-ng: WER %.2f: %q", wordErrorRate(sentence, joined(segs)), joined(segs))
}

func TestTranscribeRejectsBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	narrow := filepath.Join(dir, "8k.wav")
	run(t, "ffmpeg", "-nostdin", "-loglevel", "error", "-i", testmedia.Path(t, testmedia.JFK), "-ar", "8000", narrow)
	stereo := filepath.Join(dir, "stereo.wav")
	run(t, "ffmpeg", "-nostdin", "-loglevel", "error", "-i", testmedia.Path(t, testmedia.JFK), "-ac", "2", stereo)
	text := filepath.Join(dir, "text.wav")
	require.NoError(t, os.WriteFile(text, []byte("not audio at all\n"), 0o600))

	tests := []struct {
		name, path, want string
	}{
		{"wrong sample rate", narrow, "sample rate [8000]"},
		{"stereo", stereo, "channels"},
		{"not a wav", text, "format mismatch"},
		{"missing", filepath.Join(dir, "nope.wav"), "Failed to open file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := sphinx.Transcribe(t.Context(), tc.path)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestTranscribeCancel(t *testing.T) {
	t.Parallel()
	// A minute of audio takes pocketsphinx several seconds.
	long := filepath.Join(t.TempDir(), "long.wav")
	run(t, "ffmpeg", "-nostdin", "-loglevel", "error", "-stream_loop", "5", "-i", testmedia.Path(t, testmedia.JFK), "-c", "copy", long)

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := sphinx.Transcribe(ctx, long)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	// Killed, not run to the end.
	require.Less(t, time.Since(began), 5*time.Second)
}

func BenchmarkTranscribeJFK(b *testing.B) {
	wav := testmedia.Path(b, testmedia.JFK)
	audio := wavSeconds(b, wav)
	var took time.Duration
	for b.Loop() {
		began := time.Now()
		if _, err := sphinx.Transcribe(b.Context(), wav); err != nil {
			b.Fatal(err)
		}
		took += time.Since(began)
	}
	b.ReportMetric(took.Seconds()/(audio*float64(b.N)), "rtf")
	b.ReportMetric(audio*float64(b.N)/took.Seconds(), "audio-s/s")
	testmedia.ReportPeakRSS(b)
}

func requireOrdered(t *testing.T, segs []models.Segment, duration float64) {
	t.Helper()
	for i, s := range segs {
		require.NotEmpty(t, strings.TrimSpace(s.Text))
		require.GreaterOrEqual(t, s.Start, 0.0)
		require.Less(t, s.Start, s.End, "segment %d", i)
		require.LessOrEqual(t, s.End, duration+0.05, "segment %d", i)
		if i > 0 {
			require.GreaterOrEqual(t, s.Start, segs[i-1].End, "segment %d overlaps the one before", i)
		}
	}
}

func joined(segs []models.Segment) string {
	parts := make([]string, len(segs))
	for i, s := range segs {
		parts[i] = s.Text
	}
	return strings.Join(parts, " ")
}

// wordErrorRate is the word-level edit distance from the reference over the
// reference's length, ignoring case and punctuation.
func wordErrorRate(ref, hyp string) float64 {
	norm := func(s string) []string {
		return strings.Fields(regexp.MustCompile(`[^a-z' ]+`).ReplaceAllString(strings.ToLower(s), " "))
	}
	r, h := norm(ref), norm(hyp)
	prev := make([]int, len(h)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(r); i++ {
		cur := make([]int, len(h)+1)
		cur[0] = i
		for j := 1; j <= len(h); j++ {
			sub := prev[j-1]
			if r[i-1] != h[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev = cur
	}
	return float64(prev[len(h)]) / float64(len(r))
}

// wavSeconds reads a 16 kHz mono s16 WAV's duration from its data chunk.
func wavSeconds(t testing.TB, path string) float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for off := 12; off+8 <= len(b); {
		size := int(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		if string(b[off:off+4]) == "data" {
			return float64(min(size, len(b)-off-8)) / 32000
		}
		off += 8 + size + size%2
	}
	t.Fatalf("%s has no data chunk", path)
	return 0
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), name, args...).CombinedOutput()
	require.NoError(t, err, "%s: %s", name, out)
}
