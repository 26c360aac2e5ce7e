// Package sphinx is vindex's offline fallback transcriber: CMU pocketsphinx
// (Debian's pocketsphinx and pocketsphinx-en-us packages) run as a child
// process. It needs no downloads and no network, and it is much weaker than
// Whisper (about half the words of clear speech come out wrong), so it only
// serves when no better engine can.
package sphinx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/vindex/vindex/internal/media"
	"github.com/vindex/vindex/internal/models"
)

// ErrUnavailable means the pocketsphinx binary or its English model is not
// installed.
var ErrUnavailable = errors.New("pocketsphinx is not installed")

const (
	binary = "pocketsphinx_continuous"
	// modelDir is where pocketsphinx-en-us installs the US English
	// acoustic model, language model and dictionary.
	modelDir = "/usr/share/pocketsphinx/model/en-us"
	// maxStdout bounds the word lines read: about 40 bytes a word is tens
	// of hours of speech.
	maxStdout = 64 << 20
)

// model files, passed explicitly so that what Available checks is what
// Transcribe uses, whatever defaults the binary was built with.
var (
	hmm  = filepath.Join(modelDir, "en-us")
	lm   = filepath.Join(modelDir, "en-us.lm.bin")
	dict = filepath.Join(modelDir, "cmudict-en-us.dict")
)

// Available reports whether Transcribe can run: the binary on PATH and the
// en-us model on disk. The error wraps ErrUnavailable and names the
// packages to install.
func Available() error {
	if _, err := exec.LookPath(binary); err != nil {
		return fmt.Errorf("%w: %s not on PATH (apt-get install pocketsphinx pocketsphinx-en-us)", ErrUnavailable, binary)
	}
	for _, p := range []string{filepath.Join(hmm, "mdef"), lm, dict} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%w: model file %s missing (apt-get install pocketsphinx-en-us)", ErrUnavailable, p)
		}
	}
	return nil
}

// Transcribe recognises the speech in a 16 kHz mono 16-bit WAV file and
// returns it as segments of words split at pauses. Cancelling ctx kills
// pocketsphinx.
func Transcribe(ctx context.Context, wavPath string) ([]models.Segment, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pocketsphinx: %w", err)
	}
	// Without -logfn the decoder logs to stderr: kilobytes of configuration
	// and progress, and among them the only explanation of a failure (a
	// wrong sample rate, an unreadable file), which errorLines keeps.
	stdout := limitBuffer{max: maxStdout}
	stderr := &errorLines{}
	err := media.RunTool(ctx, binary, []string{"-infile", wavPath, "-time", "yes", "-hmm", hmm, "-lm", lm, "-dict", dict}, &stdout, stderr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("pocketsphinx: %w", ctx.Err())
		}
		return nil, fmt.Errorf("pocketsphinx %s: %s: %w", wavPath, stderr, err)
	}
	if stdout.overflow {
		return nil, fmt.Errorf("pocketsphinx %s: more than %d bytes of output", wavPath, maxStdout)
	}
	return group(parseWords(stdout.Bytes())), nil
}

// limitBuffer collects up to max bytes and notes whether more came,
// draining the rest so the decoder never blocks on a full pipe.
type limitBuffer struct {
	bytes.Buffer
	max      int
	overflow bool
}

func (l *limitBuffer) Write(p []byte) (int, error) {
	if l.overflow || l.Len()+len(p) > l.max {
		l.overflow = true
		return len(p), nil
	}
	return l.Buffer.Write(p)
}

// errorLines keeps the ERROR and FATAL lines of pocketsphinx's log, and
// the last line as a fallback for a failure that logged neither.
type errorLines struct {
	partial []byte
	kept    []string
	last    string
}

// maxKept bounds the error lines kept: a corrupt file can log one per frame.
const maxKept = 8

func (e *errorLines) Write(p []byte) (int, error) {
	e.partial = append(e.partial, p...)
	for {
		i := bytes.IndexByte(e.partial, '\n')
		if i < 0 {
			break
		}
		e.line(string(bytes.TrimSpace(e.partial[:i])))
		e.partial = e.partial[i+1:]
	}
	if len(e.partial) > 4<<10 { // a line this long is not one we keep
		e.partial = e.partial[:0]
	}
	return len(p), nil
}

func (e *errorLines) line(s string) {
	if s == "" {
		return
	}
	e.last = s
	if (strings.HasPrefix(s, "ERROR:") || strings.HasPrefix(s, "FATAL")) && len(e.kept) < maxKept {
		e.kept = append(e.kept, s)
	}
}

func (e *errorLines) String() string {
	if len(e.kept) == 0 {
		if e.last == "" {
			return "no diagnostics"
		}
		return e.last
	}
	return strings.Join(e.kept, "; ")
}
