package openai_test

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models"
	"github.com/vindex/vindex/internal/models/openai"
	"github.com/vindex/vindex/internal/models/openai/internal/wav"
	"github.com/vindex/vindex/internal/testmedia"
)

func TestTranscribe(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	srv.Transcript = []models.Segment{
		{Start: 0, End: 3.2, Text: "And so my fellow Americans,"},
		{Start: 3.2, End: 3.5, Text: "  "},
		{Start: 3.5, End: 10.9, Text: "ask not what your country can do for you."},
	}

	segs, err := c.Transcribe(t.Context(), testmedia.Path(t, testmedia.JFK), "whisper-1")
	require.NoError(t, err)
	require.Equal(t, []models.Segment{
		{Start: 0, End: 3.2, Text: "And so my fellow Americans,"},
		{Start: 3.5, End: 10.9, Text: "ask not what your country can do for you."},
	}, segs)

	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	require.Equal(t, "/v1/audio/transcriptions", reqs[0].Path)
	require.Equal(t, "whisper-1", reqs[0].Model)
	require.InDelta(t, 11.0, reqs[0].Seconds, 0.01)
}

func TestTranscribeTextOnlyServer(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	srv.TextOnly = true
	srv.Transcript = []models.Segment{{Start: 0, End: 11, Text: "ask not what your country can do for you"}}

	segs, err := c.Transcribe(t.Context(), testmedia.Path(t, testmedia.JFK), "whisper-1")
	require.NoError(t, err)
	require.Len(t, segs, 1)
	require.Equal(t, "ask not what your country can do for you", segs[0].Text)
	require.Zero(t, segs[0].Start)
	require.InDelta(t, 11.0, segs[0].End, 0.01)
}

func TestTranscribeSplitsLongAudio(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	// One segment at the start of every minute of whatever audio arrives.
	srv.TranscriptFunc = func(seconds float64) []models.Segment {
		var out []models.Segment
		for m := 0.0; m+30 <= seconds; m += 60 {
			out = append(out, models.Segment{Start: m, End: m + 30, Text: fmt.Sprintf("minute %.0f", m/60)})
		}
		return out
	}
	path := noiseWAV(t, 26*60) // 49.9 MB: twice the upload limit

	segs, err := c.Transcribe(t.Context(), path, "whisper-1")
	require.NoError(t, err)

	reqs := srv.Requests()
	require.Len(t, reqs, 3)
	var seconds []float64
	for _, r := range reqs {
		require.Equal(t, 200, r.Status)
		seconds = append(seconds, r.Seconds)
	}
	// Cut evenly into chunks of at most ten minutes.
	require.Equal(t, []float64{520, 520, 520}, seconds)

	// Each chunk says minutes 0-8 of itself; they land after the chunks before.
	require.Len(t, segs, 27)
	for i, s := range segs {
		chunk, minute := i/9, i%9
		want := float64(520*chunk + 60*minute)
		require.Equal(t, want, s.Start, "segment %d is out of place", i)
		require.Equal(t, want+30, s.End)
		require.Equal(t, fmt.Sprintf("minute %d", minute), s.Text)
	}
}

func TestTranscribeEmptyAudio(t *testing.T) {
	t.Parallel()
	srv, c := setup(t)
	path := filepath.Join(t.TempDir(), "empty.wav")
	require.NoError(t, os.WriteFile(path, wav.Header{Channels: 1, SampleRate: 16000, BitsPerSample: 16}.Encode(0), 0o600))

	segs, err := c.Transcribe(t.Context(), path, "whisper-1")
	require.NoError(t, err)
	require.Empty(t, segs)
	require.Empty(t, srv.Requests())
}

func TestTranscribeRejects(t *testing.T) {
	t.Parallel()
	notWAV := filepath.Join(t.TempDir(), "audio.mp3")
	require.NoError(t, os.WriteFile(notWAV, []byte("ID3\x04\x00\x00\x00\x00\x00\x00 not a wav"), 0o600))
	jfk := testmedia.Path(t, testmedia.JFK)
	tests := []struct {
		name, path, model string
		want              error
		requests          int
	}{
		{"not a wav", notWAV, "whisper-1", openai.ErrRequest, 0},
		{"no model", jfk, "", openai.ErrRequest, 0},
		{"unknown model", jfk, "whisper-9", openai.ErrRequest, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, c := setup(t)
			_, err := c.Transcribe(t.Context(), tc.path, tc.model)
			require.ErrorIs(t, err, tc.want)
			require.Len(t, srv.Requests(), tc.requests)
		})
	}
}

// noiseWAV writes seconds of quiet noise as a 16 kHz mono s16 WAV.
func noiseWAV(t *testing.T, seconds int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "long.wav")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	h := wav.Header{Channels: 1, SampleRate: 16000, BitsPerSample: 16}
	_, err = w.Write(h.Encode(int64(seconds * h.ByteRate())))
	require.NoError(t, err)
	second := make([]byte, h.ByteRate())
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(second); i += 2 { // a little hiss, not digital silence
		binary.LittleEndian.PutUint16(second[i:], uint16(int16(rng.IntN(17)-8)))
	}
	for range seconds {
		_, err = w.Write(second)
		require.NoError(t, err)
	}
	require.NoError(t, w.Flush())
	return path
}
