package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// stderrTail bounds what a failing tool can put into an error (and into memory): a
	// corrupt file can make ffmpeg log one error per packet for hours.
	stderrTail = 4 << 10
	// stallTimeout is how long an ffmpeg job may go without writing progress. ffmpeg writes
	// a progress block every half second while its main loop runs, even when no output
	// advances, so silence this long means it is wedged, not slow.
	stallTimeout = 2 * time.Minute
	// waitDelay bounds how long Wait waits for the tool's pipes to close after it exited or
	// was killed; the process group kill makes this a backstop only.
	waitDelay = 5 * time.Second
)

var errStall = errors.New("stall watchdog fired")

// job is one run of an external tool.
type job struct {
	tool   string // looked up in PATH
	args   []string
	dir    string    // working directory; "" for ours
	env    []string  // added to the inherited environment
	stdout io.Writer // nil discards
	stderr io.Writer // also gets the tool's stderr, when set
	stall  time.Duration
}

// RunTool runs an external tool as the media tools run: in a process group
// of its own, killed whole when ctx is cancelled and when vindex dies. Its
// stdout goes to stdout, and its stderr to stderr as well as into the
// *ToolError a non-zero exit returns.
func RunTool(ctx context.Context, tool string, args []string, stdout, stderr io.Writer) error {
	return job{tool: tool, args: args, stdout: stdout, stderr: stderr}.run(ctx)
}

// run runs the job to completion. A cancelled ctx kills the tool's whole process group and
// returns ctx's error; a tool that exits non-zero returns a *ToolError with its stderr tail.
func (j job) run(ctx context.Context) error {
	path, err := exec.LookPath(j.tool)
	if err != nil {
		return fmt.Errorf("%s: %w", j.tool, ErrMissingTool)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", j.tool, err)
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	cmd := exec.CommandContext(runCtx, path, j.args...)
	cmd.Dir = j.dir
	if len(j.env) > 0 {
		cmd.Env = append(os.Environ(), j.env...)
	}
	stderr := &tailBuffer{max: stderrTail}
	cmd.Stderr = stderr
	if j.stderr != nil {
		cmd.Stderr = io.MultiWriter(stderr, j.stderr)
	}
	var beat *heartbeat
	switch {
	case j.stall > 0:
		beat = newHeartbeat(j.stdout)
		cmd.Stdout = beat
	case j.stdout != nil:
		cmd.Stdout = j.stdout
	}
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay

	// The Linux parent-death signal fires when the thread that forked the child exits, not
	// the process (golang/go#27505); holding this thread until the child is reaped keeps
	// the runtime from retiring it under a running ffmpeg.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", j.tool, err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	if beat != nil {
		wg.Go(func() { beat.watch(stop, j.stall, func() { cancel(errStall) }) })
	}
	err = cmd.Wait()
	close(stop)
	wg.Wait()
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(context.Cause(runCtx), errStall):
		return fmt.Errorf("%s made no progress for %s and was killed: %w", j.tool, j.stall, ErrStalled)
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", j.tool, ctx.Err())
	}
	return &ToolError{Tool: j.tool, Err: err, Stderr: stderr.String()}
}

// Output-side failures ffmpeg reports; any other failure after a successful probe is taken
// to be the input's fault.
var outputFailures = []string{"No space left on device", "Read-only file system", "Permission denied",
	"Disk quota exceeded", "Could not open file", "Error opening output", "Too many open files", "Cannot allocate memory"}

// decodeFailure classifies an ffmpeg failure: undecodable input becomes ErrUnsupported (the
// upload's fault), while a full disk or the like stays a plain *ToolError (ours).
func decodeFailure(err error) error {
	var te *ToolError
	if !errors.As(err, &te) {
		return err
	}
	for _, s := range outputFailures {
		if strings.Contains(te.Stderr, s) {
			return err
		}
	}
	return fmt.Errorf("%w: ffmpeg could not decode it: %w", ErrUnsupported, err)
}

// runWithin runs the job with a time limit of its own, for tools that report no progress.
// Overrunning it is ErrStalled, so callers can tell a wedged tool from their own deadline.
func (j job) runWithin(ctx context.Context, limit time.Duration) error {
	limited, cancel := context.WithTimeoutCause(ctx, limit, errStall)
	defer cancel()
	err := j.run(limited)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(limited), errStall) {
		return fmt.Errorf("%s did not finish within %s and was killed: %w", j.tool, limit, ErrStalled)
	}
	return err
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max  int
	buf  []byte
	lost bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max { // amortise the copy
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
		t.lost = true
	}
	return len(p), nil
}

// String returns the tail, starting at a line boundary when the head was dropped.
func (t *tailBuffer) String() string {
	b, lost := t.buf, t.lost
	if len(b) > t.max {
		b, lost = b[len(b)-t.max:], true
	}
	if lost {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.ToValidUTF8(strings.TrimSpace(string(b)), "\uFFFD")
}

// limitBuffer collects up to max bytes and notes whether more came.
type limitBuffer struct {
	bytes.Buffer
	max      int
	overflow bool
}

func (l *limitBuffer) Write(p []byte) (int, error) {
	if l.overflow || l.Len()+len(p) > l.max {
		l.overflow = true
		return len(p), nil // keep draining so the tool does not block or die of SIGPIPE
	}
	return l.Buffer.Write(p)
}

// heartbeat passes writes through and remembers when the last one happened. Time spent
// inside a write (in a caller's progress callback, say) never counts as a stall: the
// tool is then blocked on us, not wedged.
type heartbeat struct {
	w    io.Writer
	last atomic.Int64 // unix nanoseconds
	busy atomic.Int32
}

func newHeartbeat(w io.Writer) *heartbeat {
	if w == nil {
		w = io.Discard
	}
	h := &heartbeat{w: w}
	h.last.Store(time.Now().UnixNano())
	return h
}

func (h *heartbeat) Write(p []byte) (int, error) {
	h.busy.Add(1)
	defer func() {
		h.last.Store(time.Now().UnixNano())
		h.busy.Add(-1)
	}()
	return h.w.Write(p)
}

// watch calls fire once if no write happens for limit, and returns when stop is closed.
func (h *heartbeat) watch(stop <-chan struct{}, limit time.Duration, fire func()) {
	tick := time.NewTicker(max(limit/8, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			if h.busy.Load() == 0 && now.Sub(time.Unix(0, h.last.Load())) > limit {
				fire()
				return
			}
		}
	}
}
