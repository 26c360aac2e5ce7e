package media_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/testmedia"
)

// Real media shared by the project's tests (see ../shared/media/README.md).
const (
	cityMPG = testmedia.City // 7.6 s MPEG-2 720x405 25 fps, no audio
	jfkWAV  = testmedia.JFK  // 11 s speech, 16 kHz mono s16
)

// fixtureDir holds media that several tests share and that is slow enough to make once.
var fixtureDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vindex-media-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// twoHours is a 2-hour 64x36 1 fps test pattern (7200 frames, about 4 MB, a few seconds
// to make): long enough to show Keyframes' cost and its max-interval frames, cheap to decode.
var twoHoursOnce = sync.OnceValues(func() (string, error) {
	path := filepath.Join(fixtureDir, "two-hours.mp4")
	return path, generate(context.Background(), path,
		"-f", "lavfi", "-i", "testsrc=s=64x36:r=1:d=7200",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
})

func twoHours(t *testing.T) string {
	t.Helper()
	path, err := twoHoursOnce()
	require.NoError(t, err)
	return path
}

func shared(t *testing.T, name string) string {
	t.Helper()
	return testmedia.Path(t, name)
}

// ffmpeg runs ffmpeg with args and the output file name into a fresh temp dir.
func ffmpeg(t *testing.T, name string, args ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, generate(t.Context(), path, args...))
	return path
}

func generate(ctx context.Context, out string, args ...string) error {
	full := append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y"}, args...)
	cmd := exec.CommandContext(ctx, "ffmpeg", append(full, out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ffmpeg %s: %w: %s", strings.Join(args, " "), err, b)
	}
	return nil
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, data, 0o644))
	return path
}

// drawtextFont is the drawtext option naming a font: DejaVu Sans Bold when installed (it is
// with Debian's ffmpeg), else nothing, which leaves the choice to fontconfig.
func drawtextFont() string {
	const dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
	if _, err := os.Stat(dejavu); err == nil {
		return "fontfile=" + dejavu + ":"
	}
	return ""
}

// lavfiVideo is a solid colour (or testsrc when colour is "") clip of the given size.
func lavfiVideo(colour, size string, seconds float64) []string {
	src := fmt.Sprintf("testsrc=s=%s:r=25:d=%g", size, seconds)
	if colour != "" {
		src = fmt.Sprintf("color=c=%s:s=%s:r=25:d=%g", colour, size, seconds)
	}
	return []string{"-f", "lavfi", "-i", src}
}

var x264 = []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"}

func join(parts ...[]string) []string {
	var all []string
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}
