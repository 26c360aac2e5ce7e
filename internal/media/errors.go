package media

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Sentinel errors callers branch on; the wrapping error carries a human-readable reason.
var (
	// ErrNotMedia means the file is not something ffprobe can read as audio or video:
	// empty, garbage, a text or image file, a truncated MP4 without its index.
	ErrNotMedia = errors.New("not a video or audio file")
	// ErrNoVideo means the file is media but has no video stream (cover art does not count).
	ErrNoVideo = errors.New("no video stream")
	// ErrNoAudio means the file is media but has no audio stream.
	ErrNoAudio = errors.New("no audio stream")
	// ErrUnsupported means the file is readable media that vindex will not process: absurd
	// dimensions, unknown duration, playlists, nothing decodable.
	ErrUnsupported = errors.New("unsupported media")
	// ErrNotImage means OCR was given something that is not an image file.
	ErrNotImage = errors.New("not an image file")
	// ErrStalled means a tool stopped making progress, or overran its time limit, and was
	// killed.
	ErrStalled = errors.New("tool stalled")
	// ErrMissingTool means ffmpeg, ffprobe or tesseract (or a part of one) is not installed.
	ErrMissingTool = errors.New("media tool missing (install with `make deps`)")
)

// ToolError is a tool that ran and failed. Stderr is the tail of its error output.
type ToolError struct {
	Tool   string
	Err    error // usually an *exec.ExitError
	Stderr string
}

func (e *ToolError) Error() string {
	if r := e.Reason(); r != "" {
		return fmt.Sprintf("%s: %s (%v)", e.Tool, r, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Tool, e.Err)
}

func (e *ToolError) Unwrap() error { return e.Err }

// ffmpeg prefixes log lines with the logging context's address, which changes every run and
// would make otherwise identical errors look different in logs.
var logContext = regexp.MustCompile(`\[[^\]]* @ 0x[0-9a-f]+\] `)

// Reason is the stderr tail as one line: context addresses removed, lines joined with "; ".
func (e *ToolError) Reason() string {
	var lines []string
	seen := map[string]bool{}
	for _, l := range strings.Split(e.Stderr, "\n") {
		l = strings.TrimSpace(logContext.ReplaceAllString(l, ""))
		if l == "" || seen[l] {
			continue
		}
		seen[l] = true
		lines = append(lines, l)
	}
	return strings.Join(lines, "; ")
}
