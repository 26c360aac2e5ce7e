package media_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/media"
)

// readWAV checks the canonical 44-byte header of 16 kHz mono s16 PCM and returns the samples.
func readWAV(t *testing.T, path string) []int16 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Greater(t, len(b), 44)
	le := binary.LittleEndian
	require.Equal(t, "RIFF", string(b[0:4]))
	require.EqualValues(t, len(b)-8, le.Uint32(b[4:8]))
	require.Equal(t, "WAVEfmt ", string(b[8:16]))
	require.EqualValues(t, 16, le.Uint32(b[16:20]), "fmt chunk size")
	require.EqualValues(t, 1, le.Uint16(b[20:22]), "PCM")
	require.EqualValues(t, 1, le.Uint16(b[22:24]), "mono")
	require.EqualValues(t, 16000, le.Uint32(b[24:28]), "sample rate")
	require.EqualValues(t, 32000, le.Uint32(b[28:32]), "byte rate")
	require.EqualValues(t, 2, le.Uint16(b[32:34]), "block align")
	require.EqualValues(t, 16, le.Uint16(b[34:36]), "bits per sample")
	require.Equal(t, "data", string(b[36:40]))
	require.EqualValues(t, len(b)-44, le.Uint32(b[40:44]))
	samples := make([]int16, (len(b)-44)/2)
	require.NoError(t, binary.Read(bytes.NewReader(b[44:]), le, samples))
	return samples
}

func rms(s []int16) float64 {
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(max(len(s), 1)))
}

// zeroCrossings counts sign changes, twice the frequency of a pure tone per second.
func zeroCrossings(s []int16) int {
	n := 0
	for i := 1; i < len(s); i++ {
		if (s[i-1] < 0) != (s[i] < 0) {
			n++
		}
	}
	return n
}

func TestExtractAudioSine(t *testing.T) {
	t.Parallel()
	path := ffmpeg(t, "sine.mp4", join(lavfiVideo("", "160x120", 3),
		[]string{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=3", "-ac", "2"}, x264)...)
	out := filepath.Join(t.TempDir(), "new", "dir", "out.wav")
	var progress progressLog
	require.NoError(t, media.ExtractAudio(t.Context(), path, out, progress.record))
	s := readWAV(t, out)
	// AAC's encoder padding adds up to a frame (23 ms) at the end.
	require.InDelta(t, 3*16000, len(s), 0.05*16000)
	require.InDelta(t, 2*440*3, zeroCrossings(s), 30, "a 440 Hz tone")
	require.Greater(t, rms(s), 1000.0)
	progress.check(t, 3, 0.1)
}

func TestExtractAudioStartsWithTheVideo(t *testing.T) {
	t.Parallel()
	// The tone starts 1 s into the file; the WAV must too, so that WAV times are file times.
	path := ffmpeg(t, "late.mkv", join(lavfiVideo("", "160x120", 4),
		[]string{"-itsoffset", "1", "-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:a", "pcm_s16le"}, x264)...)
	out := filepath.Join(t.TempDir(), "out.wav")
	require.NoError(t, media.ExtractAudio(t.Context(), path, out, nil))
	s := readWAV(t, out)
	require.InDelta(t, 4*16000, len(s), 0.02*16000)
	require.Less(t, rms(s[:15000]), 1.0, "silence before the audio starts")
	require.Greater(t, rms(s[17000:]), 1000.0)
}

func TestExtractAudioJFKIsUntouched(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "jfk.wav")
	require.NoError(t, media.ExtractAudio(t.Context(), shared(t, jfkWAV), out, nil))
	got := readWAV(t, out)
	orig, err := os.ReadFile(shared(t, jfkWAV))
	require.NoError(t, err)
	data := orig[bytes.Index(orig, []byte("data"))+8:]
	want := make([]int16, len(data)/2)
	require.NoError(t, binary.Read(bytes.NewReader(data), binary.LittleEndian, want))
	require.Len(t, got, 176000)
	require.Equal(t, want, got, "16 kHz mono s16 in, the same samples out")
}

func TestExtractAudioSpeech(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Skip("espeak-ng not installed (make deps)")
	}
	speech := filepath.Join(t.TempDir(), "speech.wav")
	out, err := exec.CommandContext(t.Context(), "espeak-ng", "-w", speech, "Please read the refund policy before you buy.").CombinedOutput()
	require.NoError(t, err, string(out))
	info, err := media.Probe(t.Context(), speech)
	require.NoError(t, err)
	path := ffmpeg(t, "talk.mp4", join(lavfiVideo("", "160x120", info.Duration), []string{"-i", speech}, x264, []string{"-c:a", "aac"})...)
	wav := filepath.Join(t.TempDir(), "talk.wav")
	require.NoError(t, media.ExtractAudio(t.Context(), path, wav, nil))
	s := readWAV(t, wav)
	require.InDelta(t, info.Duration*16000, len(s), 0.05*16000)
	require.Greater(t, rms(s), 300.0, "speech, not silence")
}

func TestExtractAudioBadInputs(t *testing.T) {
	t.Parallel()
	cases := append(badInputs(t),
		badInput{"video only", func(t *testing.T) string { return shared(t, cityMPG) }, media.ErrNoAudio, ""},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			err := media.ExtractAudio(t.Context(), tc.make(t), filepath.Join(dir, "out.wav"), nil)
			require.ErrorIs(t, err, tc.want)
			require.ErrorContains(t, err, tc.msg)
			left, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, left, "no WAV, no temp file")
		})
	}
}

func TestExtractAudioCancel(t *testing.T) {
	t.Parallel()
	path := ffmpeg(t, "long.wav", "-f", "lavfi", "-i", "sine=duration=1800:sample_rate=8000") // 29 MB, quick to write
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	err := media.ExtractAudio(ctx, path, filepath.Join(dir, "out.wav"), func(float64) { cancel() })
	require.ErrorIs(t, err, context.Canceled)
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, left)
}
