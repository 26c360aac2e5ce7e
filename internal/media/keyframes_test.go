package media_test

import (
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/media"
)

// progressLog records progress callbacks, which come from another goroutine.
type progressLog struct {
	mu    sync.Mutex
	calls []float64
	first time.Time
}

func (p *progressLog) record(done float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.first.IsZero() {
		p.first = time.Now()
	}
	p.calls = append(p.calls, done)
}

// check asserts progress was monotonic, ended within delta of want, and came at most about
// twice a second.
func (p *progressLog) check(t *testing.T, want, delta float64) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	require.NotEmpty(t, p.calls)
	for i := 1; i < len(p.calls); i++ {
		require.Greater(t, p.calls[i], p.calls[i-1])
	}
	require.InDelta(t, want, p.calls[len(p.calls)-1], delta)
	require.LessOrEqual(t, len(p.calls), 2+int(2*time.Since(p.first).Seconds()), "progress more often than twice a second")
}

// scenes is red 0–4 s, lime 4–9 s and blue 9–16 s. (Red and ffmpeg's "green", #008000,
// have almost the same luma and score under 0.3: the test is about timing, not that.)
func scenes(t *testing.T) string {
	t.Helper()
	return ffmpeg(t, "scenes.mp4", join(
		lavfiVideo("red", "320x240", 4), lavfiVideo("lime", "320x240", 5), lavfiVideo("blue", "320x240", 7),
		[]string{"-filter_complex", "[0][1][2]concat=n=3:v=1:a=0"}, x264)...)
}

func centre(t *testing.T, path string) [3]uint32 {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := jpeg.Decode(f)
	require.NoError(t, err)
	b := img.Bounds()
	r, g, bl, _ := img.At(b.Min.X+b.Dx()/2, b.Min.Y+b.Dy()/2).RGBA()
	return [3]uint32{r >> 8, g >> 8, bl >> 8}
}

func TestKeyframesScenes(t *testing.T) {
	t.Parallel()
	path := scenes(t)
	red, lime, blue := [3]uint32{255, 0, 0}, [3]uint32{0, 255, 0}, [3]uint32{0, 0, 255}
	type want struct {
		time   float64
		colour [3]uint32
	}
	for _, tc := range []struct {
		name string
		opt  media.KeyframeOptions
		want []want
		size [2]int
	}{
		{"defaults: cuts plus a frame every 5 s", media.KeyframeOptions{},
			[]want{{0, red}, {4, lime}, {9, blue}, {14, blue}}, [2]int{320, 240}},
		{"every 2 s, 160 wide", media.KeyframeOptions{MaxInterval: 2, MaxWidth: 160},
			[]want{{0, red}, {2, red}, {4, lime}, {6, lime}, {8, lime}, {9, blue}, {11, blue}, {13, blue}, {15, blue}}, [2]int{160, 120}},
		{"cuts too close to the last frame are skipped", media.KeyframeOptions{MinInterval: 1.5, MaxInterval: 3.5},
			[]want{{0, red}, {3.5, red}, {7, lime}, {9, blue}, {12.5, blue}}, [2]int{320, 240}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "frames")
			var progress progressLog
			frames, err := media.Keyframes(t.Context(), path, dir, tc.opt, progress.record)
			require.NoError(t, err)
			require.Len(t, frames, len(tc.want))
			for i, f := range frames {
				require.InDelta(t, tc.want[i].time, f.Time, 0.04+1e-9, "frame %d: within one frame (25 fps)", i)
				require.Equal(t, filepath.Join(dir, fmt.Sprintf("%06d.jpg", i)), f.Path)
				require.Equal(t, tc.size, [2]int{f.Width, f.Height})
				got := centre(t, f.Path)
				for c := range 3 {
					require.InDelta(t, tc.want[i].colour[c], got[c], 40, "frame %d at %.2f s: colour %v", i, f.Time, got)
				}
			}
			progress.check(t, frames[len(frames)-1].Time, 0.1)
			left, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Len(t, left, len(frames), "only the JPEGs remain")
		})
	}
}

func TestKeyframesCity(t *testing.T) {
	t.Parallel()
	var progress progressLog
	start := time.Now()
	frames, err := media.Keyframes(t.Context(), shared(t, cityMPG), t.TempDir(), media.KeyframeOptions{}, progress.record)
	require.NoError(t, err)
	t.Logf("cityCC0.mpg (7.6 s, 720x405 MPEG-2): %d frames in %v", len(frames), time.Since(start))
	require.GreaterOrEqual(t, len(frames), 2, "the first frame and at least one more within 5 s")
	require.Zero(t, frames[0].Time, "times count from the file's start, not the 0.54 s container start time")
	for i, f := range frames {
		require.Equal(t, [2]int{640, 360}, [2]int{f.Width, f.Height})
		require.Less(t, f.Time, 7.6)
		if i > 0 {
			require.Greater(t, f.Time, frames[i-1].Time)
			require.LessOrEqual(t, f.Time-frames[i-1].Time, 5.0+1e-9)
		}
		img := decode(t, f.Path)
		require.Equal(t, 640, img.Bounds().Dx())
	}
	// The cut to a new shot at 4.64 s (scene score 0.41) is found to the frame.
	require.InDelta(t, 4.64, frames[1].Time, 1e-6)
	progress.check(t, frames[len(frames)-1].Time, 0.1)
}

func decode(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := jpeg.Decode(f)
	require.NoError(t, err)
	return img
}

func TestKeyframesSizes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		input []string
		want  [2]int
	}{
		{"720p is scaled to 640 wide", join(lavfiVideo("", "1280x720", 1), x264), [2]int{640, 360}},
		{"854x480 rounds to 640x360", join(lavfiVideo("", "854x480", 1), x264), [2]int{640, 360}},
		{"anamorphic DVD is shown at 16:9", join(lavfiVideo("", "720x480", 1), []string{"-vf", "setsar=32/27"}, x264), [2]int{640, 360}},
		{"portrait keeps its width", join(lavfiVideo("", "360x640", 1), x264), [2]int{360, 640}},
		{"small is not upscaled", join(lavfiVideo("", "160x120", 1), x264), [2]int{160, 120}},
		{"8000x16 stays at least 2 high", join(lavfiVideo("gray", "8000x16", 1), x264), [2]int{640, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := ffmpeg(t, "in.mp4", tc.input...)
			frames, err := media.Keyframes(t.Context(), path, t.TempDir(), media.KeyframeOptions{}, nil)
			require.NoError(t, err)
			require.Len(t, frames, 1)
			require.Equal(t, tc.want, [2]int{frames[0].Width, frames[0].Height})
		})
	}
}

// TestKeyframesTwoHours is the cost check: one frame every 5 s of a 2-hour video.
func TestKeyframesTwoHours(t *testing.T) {
	t.Parallel()
	path := twoHours(t)
	var progress progressLog
	start := time.Now()
	frames, err := media.Keyframes(t.Context(), path, t.TempDir(), media.KeyframeOptions{}, progress.record)
	elapsed := time.Since(start)
	require.NoError(t, err)
	t.Logf("2 h video (64x36, 1 fps): %d frames in %v", len(frames), elapsed)
	require.Len(t, frames, 7200/5)
	for i, f := range frames {
		require.InDelta(t, float64(5*i), f.Time, 1e-6)
	}
	progress.check(t, 7196, 0.5) // ffmpeg counts the last frame's 1 s duration as done
	require.Less(t, elapsed, time.Minute)
}

func TestKeyframesCancel(t *testing.T) {
	t.Parallel()
	path := twoHours(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var once sync.Once
	var cancelled time.Time
	_, err := media.Keyframes(ctx, path, dir, media.KeyframeOptions{}, func(float64) {
		once.Do(func() { cancelled = time.Now(); cancel() }) // ffmpeg is running by now
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, time.Since(cancelled), 2*time.Second)
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, left, "a cancelled run leaves no partial frames")
}

func TestKeyframesTruncatedMPEG(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(shared(t, cityMPG))
	require.NoError(t, err)
	path := writeFile(t, "half.mpg", b[:len(b)/2])
	info, err := media.Probe(t.Context(), path)
	require.NoError(t, err, "MPEG-PS has no index: half a file is a shorter file")
	require.InDelta(t, 3.4, info.Duration, 0.5)
	frames, err := media.Keyframes(t.Context(), path, t.TempDir(), media.KeyframeOptions{}, nil)
	require.NoError(t, err)
	require.NotEmpty(t, frames)
	require.Less(t, frames[len(frames)-1].Time, info.Duration)
}

func TestKeyframesTruncatedFastStartMP4(t *testing.T) {
	t.Parallel()
	full := ffmpeg(t, "full.mp4", join(lavfiVideo("", "320x240", 10), x264, []string{"-movflags", "+faststart"})...)
	b, err := os.ReadFile(full)
	require.NoError(t, err)
	path := writeFile(t, "half.mp4", b[:len(b)/2])
	frames, err := media.Keyframes(t.Context(), path, t.TempDir(), media.KeyframeOptions{}, nil)
	require.NoError(t, err, "the index is intact, the frames it points past the end of are missing")
	require.NotEmpty(t, frames)
	require.Less(t, frames[len(frames)-1].Time, 10.0)
}

func TestKeyframesBadInputs(t *testing.T) {
	t.Parallel()
	cases := append(badInputs(t),
		badInput{"audio only", func(t *testing.T) string { return shared(t, jfkWAV) }, media.ErrNoVideo, ""},
		badInput{"mp3 with cover art", func(t *testing.T) string {
			return ffmpeg(t, "song.mp3", "-f", "lavfi", "-i", "sine=duration=2", "-f", "lavfi", "-i", "color=c=red:s=64x64:d=1",
				"-map", "0", "-map", "1", "-frames:v", "1", "-c:a", "libmp3lame", "-c:v", "png", "-disposition:v", "attached_pic")
		}, media.ErrNoVideo, ""},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			frames, err := media.Keyframes(t.Context(), tc.make(t), dir, media.KeyframeOptions{}, nil)
			require.ErrorIs(t, err, tc.want)
			require.ErrorContains(t, err, tc.msg)
			require.Empty(t, frames)
		})
	}
}

func TestKeyframesInvalidOptions(t *testing.T) {
	t.Parallel()
	for _, opt := range []media.KeyframeOptions{
		{SceneThreshold: 1.5}, {SceneThreshold: -1}, {MaxInterval: 1, MinInterval: 2},
		{MaxWidth: 8}, {MaxWidth: 100000}, {Quality: 1}, {Quality: 40}, {Threads: -1},
	} {
		_, err := media.Keyframes(t.Context(), "unused.mp4", t.TempDir(), opt, nil)
		require.ErrorContains(t, err, "invalid options", "%+v", opt)
	}
}
