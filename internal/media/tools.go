package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// requirement is one tool and what vindex needs from it: a command that lists its parts,
// and the names that list must contain.
type requirement struct {
	tool  string
	args  []string
	needs []string
	what  string
}

var requirements = []requirement{
	{"ffprobe", []string{"-hide_banner", "-loglevel", "error", "-version"}, nil, ""},
	{"ffmpeg", []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-filters"}, []string{" select ", " scale ", " settb ", " metadata ", " aresample ", " aformat "}, "filter"},
	{"ffmpeg", []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-encoders"}, []string{" mjpeg ", " pcm_s16le "}, "encoder"},
	{"tesseract", []string{"--list-langs"}, []string{"\neng\n"}, "language data"},
}

// CheckTools reports whether ffmpeg, ffprobe and tesseract are installed with the parts
// vindex uses, naming everything missing in one error that wraps ErrMissingTool.
func CheckTools(ctx context.Context) error {
	return checkTools(ctx, requirements)
}

func checkTools(ctx context.Context, reqs []requirement) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var problems []string
	absent := map[string]bool{}
	for _, r := range reqs {
		if absent[r.tool] {
			continue
		}
		out := &limitBuffer{max: 1 << 20}
		err := job{tool: r.tool, args: r.args, stdout: out}.run(ctx)
		switch {
		case errors.Is(err, ErrMissingTool):
			absent[r.tool] = true
			problems = append(problems, r.tool+" is not in PATH")
			continue
		case ctx.Err() != nil:
			return fmt.Errorf("check media tools: %w", ctx.Err())
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s does not run: %v", r.tool, err))
			continue
		}
		listing := bytes.ReplaceAll(out.Bytes(), []byte("\r\n"), []byte("\n"))
		listing = append(append([]byte("\n"), listing...), '\n')
		for _, need := range r.needs {
			if !bytes.Contains(listing, []byte(need)) {
				problems = append(problems, fmt.Sprintf("%s lacks the %s %q", r.tool, r.what, strings.TrimSpace(need)))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrMissingTool, strings.Join(problems, "; "))
	}
	return nil
}
