package media_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/media"
)

// textFrame is a 640x360 frame of dark text on a light background, as a slide would be.
func textFrame(t *testing.T, name, text string) string {
	t.Helper()
	return ffmpeg(t, name, "-f", "lavfi", "-i",
		"color=c=white:s=640x360:d=1,drawtext="+drawtextFont()+"text='"+text+"':fontsize=48:fontcolor=black:x=(w-text_w)/2:y=(h-text_h)/2",
		"-frames:v", "1")
}

func TestOCR(t *testing.T) {
	t.Parallel()
	path := textFrame(t, "slide.png", "REFUND POLICY 42")
	res, err := media.OCR(t.Context(), path)
	require.NoError(t, err)
	require.Contains(t, strings.ToUpper(res.Text), "REFUND POLICY 42")
	require.Len(t, res.Words, 3)
	for i, w := range res.Words {
		require.GreaterOrEqual(t, w.Conf, float64(media.MinWordConf))
		require.Positive(t, w.W)
		require.Positive(t, w.H)
		require.True(t, w.X >= 0 && w.Y >= 0 && w.X+w.W <= 640 && w.Y+w.H <= 360, "%+v inside the frame", w)
		require.InDelta(t, 180, w.Y+w.H/2, 20, "vertically centred")
		if i > 0 {
			require.Greater(t, w.X, res.Words[i-1].X+res.Words[i-1].W, "left to right")
		}
	}
}

func TestOCRKeyframe(t *testing.T) {
	t.Parallel()
	// The path vindex takes: a video with a title card, its keyframe JPEG, OCR.
	video := ffmpeg(t, "title.mp4", join([]string{"-f", "lavfi", "-i",
		"color=c=0x203040:s=1280x720:r=25:d=3,drawtext=" + drawtextFont() + "text='REFUND POLICY 42':fontsize=96:fontcolor=white:x=(w-text_w)/2:y=(h-text_h)/2"}, x264)...)
	frames, err := media.Keyframes(t.Context(), video, t.TempDir(), media.KeyframeOptions{}, nil)
	require.NoError(t, err)
	res, err := media.OCR(t.Context(), frames[0].Path)
	require.NoError(t, err)
	require.Contains(t, strings.ToUpper(res.Text), "REFUND POLICY 42")
}

func TestOCRNoText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		make func(t *testing.T) string
	}{
		{"blank", func(t *testing.T) string {
			return ffmpeg(t, "blank.jpg", join(lavfiVideo("white", "320x240", 1), []string{"-frames:v", "1"})...)
		}},
		{"night city", func(t *testing.T) string {
			frames, err := media.Keyframes(t.Context(), shared(t, cityMPG), t.TempDir(), media.KeyframeOptions{}, nil)
			require.NoError(t, err)
			return frames[0].Path
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := media.OCR(t.Context(), tc.make(t))
			require.NoError(t, err)
			require.Empty(t, res.Text, "noise is dropped")
			require.Empty(t, res.Words)
		})
	}
}

func TestOCRBadInputs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		make func(t *testing.T) string
		want error
	}{
		{"zero bytes", func(t *testing.T) string { return writeFile(t, "empty.jpg", nil) }, media.ErrNotImage},
		{"text named .jpg", func(t *testing.T) string { return writeFile(t, "notes.jpg", []byte("hello\n")) }, media.ErrNotImage},
		// tesseract would OCR the images a text file lists; the slide's words must not show up.
		{"a list of image paths", func(t *testing.T) string {
			slide := textFrame(t, "slide.png", "SECRET")
			return writeFile(t, "list.png", []byte(slide+"\n"))
		}, media.ErrNotImage},
		{"truncated jpeg", func(t *testing.T) string {
			b, err := os.ReadFile(ffmpeg(t, "x.jpg", join(lavfiVideo("", "320x240", 1), []string{"-frames:v", "1"})...))
			require.NoError(t, err)
			return writeFile(t, "cut.jpg", b[:100])
		}, media.ErrNotImage},
		{"video", func(t *testing.T) string { return shared(t, cityMPG) }, media.ErrNotImage},
		{"directory", func(t *testing.T) string { return t.TempDir() }, media.ErrNotImage},
		{"missing", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.png") }, os.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := media.OCR(t.Context(), tc.make(t))
			require.ErrorIs(t, err, tc.want)
		})
	}
}
