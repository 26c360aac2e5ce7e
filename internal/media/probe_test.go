package media_test

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/media"
)

func TestProbeCity(t *testing.T) {
	t.Parallel()
	info, err := media.Probe(t.Context(), shared(t, cityMPG))
	require.NoError(t, err)
	require.InDelta(t, 7.6, info.Duration, 0.05)
	require.Equal(t, "mpeg", info.Format)
	require.EqualValues(t, 4573184, info.Size)
	require.Positive(t, info.BitRate)
	v, ok := info.Video()
	require.True(t, ok)
	require.Equal(t, "mpeg2video", v.Codec)
	require.Equal(t, [2]int{720, 405}, [2]int{v.Width, v.Height})
	require.InDelta(t, 25, v.FPS, 0.01)
	require.InDelta(t, 1, v.SAR, 0.001)
	_, ok = info.Audio()
	require.False(t, ok)
}

func TestProbeJFK(t *testing.T) {
	t.Parallel()
	info, err := media.Probe(t.Context(), shared(t, jfkWAV))
	require.NoError(t, err)
	require.InDelta(t, 11.0, info.Duration, 0.01)
	require.Equal(t, "wav", info.Format)
	a, ok := info.Audio()
	require.True(t, ok)
	require.Equal(t, media.Stream{Index: 0, Kind: "audio", Codec: "pcm_s16le", SAR: 1, SampleRate: 16000, Channels: 1, Duration: 11}, a)
	_, ok = info.Video()
	require.False(t, ok)
}

func TestProbeVideoWithAudio(t *testing.T) {
	t.Parallel()
	path := ffmpeg(t, "av.mp4", join(lavfiVideo("", "320x240", 3),
		[]string{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=3", "-ac", "2"}, x264)...)
	info, err := media.Probe(t.Context(), path)
	require.NoError(t, err)
	require.InDelta(t, 3, info.Duration, 0.05)
	v, ok := info.Video()
	require.True(t, ok)
	require.Equal(t, "h264", v.Codec)
	require.Equal(t, 320, v.Width)
	a, ok := info.Audio()
	require.True(t, ok)
	require.Equal(t, 44100, a.SampleRate)
	require.Equal(t, 2, a.Channels)
}

// badInputs are files every entry point must refuse with a clear error, quickly.
func badInputs(t *testing.T) []badInput {
	t.Helper()
	random := make([]byte, 256<<10)
	rnd := rand.New(rand.NewChaCha8([32]byte{42}))
	for i := range random {
		random[i] = byte(rnd.UintN(256))
	}
	// Character/attribute pairs with foreground unlike background, as a BIN art file has;
	// 64000 bytes make whole 160-column rows, as the bin demuxer's probe wants.
	art := make([]byte, 0, 64000)
	for range 32000 {
		fg := rnd.UintN(16)
		bg := (fg + 1 + rnd.UintN(15)) % 16
		art = append(art, byte(33+rnd.UintN(94)), byte(bg<<4|fg))
	}
	return []badInput{
		{"zero bytes", func(t *testing.T) string { return writeFile(t, "empty.mp4", nil) }, media.ErrNotMedia, "empty"},
		{"random bytes", func(t *testing.T) string { return writeFile(t, "random.mp4", random) }, media.ErrNotMedia, "Invalid data"},
		{"random bytes .bin", func(t *testing.T) string { return writeFile(t, "random.bin", random) }, media.ErrNotMedia, ""},
		// ffmpeg shows .bin files of character/attribute pairs and long .txt files as
		// text-mode art: "video" of the characters in a VGA font. Probe refuses them.
		{"text-mode art .bin", func(t *testing.T) string { return writeFile(t, "art.bin", art) }, media.ErrNotMedia, "a text file"},
		{"text renamed .mp4", func(t *testing.T) string {
			return writeFile(t, "notes.mp4", []byte("Meeting notes\nThis is a plain text file, not a video.\n"))
		}, media.ErrNotMedia, ""},
		{"text file .txt", func(t *testing.T) string {
			return writeFile(t, "notes.txt", []byte(strings.Repeat("ffmpeg shows text files as ANSI art video\n", 500)))
		}, media.ErrNotMedia, "a text file"},
		{"truncated mp4 (index at the end)", func(t *testing.T) string {
			full := ffmpeg(t, "full.mp4", join(lavfiVideo("", "320x240", 4), x264)...)
			b, err := os.ReadFile(full)
			require.NoError(t, err)
			return writeFile(t, "half.mp4", b[:len(b)/2])
		}, media.ErrNotMedia, "moov atom not found"},
		{"still image", func(t *testing.T) string {
			return ffmpeg(t, "still.jpg", join(lavfiVideo("red", "64x64", 1), []string{"-frames:v", "1"})...)
		}, media.ErrNotMedia, "still image"},
		{"subtitles only", func(t *testing.T) string {
			return writeFile(t, "subs.srt", []byte("1\n00:00:01,000 --> 00:00:02,000\nhello\n"))
		}, media.ErrNotMedia, "no audio or video"},
		{"10000x16", func(t *testing.T) string {
			return ffmpeg(t, "wide.mp4", join(lavfiVideo("gray", "10000x16", 1), x264)...)
		}, media.ErrUnsupported, "10000x16"},
		{"16x10000", func(t *testing.T) string {
			return ffmpeg(t, "tall.mp4", join(lavfiVideo("gray", "16x10000", 1), x264)...)
		}, media.ErrUnsupported, "16x10000"},
		{"1x16", func(t *testing.T) string {
			return ffmpeg(t, "thin.nut", "-f", "lavfi", "-i", "color=c=gray:s=2x16:r=1:d=1,format=gray,scale=1:16", "-c:v", "rawvideo")
		}, media.ErrUnsupported, "1x16"},
		{"raw h264 without container", func(t *testing.T) string {
			return ffmpeg(t, "raw.h264", join(lavfiVideo("", "64x64", 1), x264, []string{"-f", "h264"})...)
		}, media.ErrUnsupported, "duration is unknown"},
		{"HLS playlist", func(t *testing.T) string {
			return ffmpeg(t, "list.m3u8", join(lavfiVideo("", "64x64", 2), x264, []string{"-f", "hls"})...)
		}, media.ErrUnsupported, "playlist"},
		{"directory", func(t *testing.T) string { return t.TempDir() }, media.ErrNotMedia, "not a regular file"},
		{"missing", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.mp4") }, fs.ErrNotExist, ""},
	}
}

type badInput struct {
	name string
	make func(t *testing.T) string
	want error
	msg  string
}

func TestProbeBadInputs(t *testing.T) {
	t.Parallel()
	for _, tc := range badInputs(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := media.Probe(t.Context(), tc.make(t))
			require.ErrorIs(t, err, tc.want)
			require.ErrorContains(t, err, tc.msg)
			t.Log(err)
		})
	}
}

// TestGarbageThatProbesAsAudio pins down a limit of probing: ffprobe takes some garbage for
// headerless audio (this pattern is AMR-NB to it, 213 s long). Probe cannot tell; decoding
// can, and ExtractAudio then fails with ErrUnsupported.
func TestGarbageThatProbesAsAudio(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "pattern.bin", []byte(strings.Repeat("A\x1f", 32000)))
	info, err := media.Probe(t.Context(), path)
	require.NoError(t, err)
	_, ok := info.Audio()
	require.True(t, ok)
	_, err = media.Keyframes(t.Context(), path, t.TempDir(), media.KeyframeOptions{}, nil)
	require.ErrorIs(t, err, media.ErrNoVideo)
	err = media.ExtractAudio(t.Context(), path, filepath.Join(t.TempDir(), "out.wav"), nil)
	require.ErrorIs(t, err, media.ErrUnsupported)
	require.ErrorContains(t, err, "could not decode")
}
