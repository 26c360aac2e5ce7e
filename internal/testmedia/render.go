package testmedia

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// Render encodes an H.264/AAC MP4 named name in a temporary directory from
// ffmpeg input and mapping arguments.
func Render(t testing.TB, name string, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	args = append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y"}, args...)
	args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", out)
	if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("render %s: %v: %s", name, err, b)
	}
	return out
}

// DrawText is an ffmpeg filter writing text large and dark in the middle.
func DrawText(text string) string {
	font := "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
	return "drawtext=fontfile=" + font + ":text='" + text + "':fontsize=56:fontcolor=black:x=(w-tw)/2:y=(h-th)/2"
}

// SpeechClip is the JFK recording over an 11 s white slide showing text.
func SpeechClip(t testing.TB, text string) string {
	t.Helper()
	return Render(t, "speech.mp4",
		"-f", "lavfi", "-i", "color=c=white:s=640x360:d=11,"+DrawText(text),
		"-i", Path(t, JFK), "-map", "0:v", "-map", "1:a")
}
