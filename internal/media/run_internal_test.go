package media

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// gone reports whether pid has exited: no such process, or a zombie nobody reaped yet
// (in a container PID 1 may never reap the orphans it inherits).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

func TestRunCancelKillsTheProcessGroup(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	start := time.Now()
	// The background sleep holds stdout open: killing only sh would leave Wait waiting for
	// it until waitDelay.
	err := job{tool: "sh", args: []string{"-c", "sleep 30 & echo $!; wait"}, stdout: &out}.run(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 2*time.Second)
	pid, err := strconv.Atoi(strings.TrimSpace(out.String()))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return gone(pid) }, 2*time.Second, 10*time.Millisecond, "grandchild %d killed", pid)
}

func TestRunStall(t *testing.T) {
	t.Parallel()
	start := time.Now()
	err := job{tool: "sh", args: []string{"-c", "echo started; sleep 30"}, stall: 300 * time.Millisecond}.run(t.Context())
	require.ErrorIs(t, err, ErrStalled)
	require.Less(t, time.Since(start), 3*time.Second)
}

func TestRunSlowConsumerIsNotAStall(t *testing.T) {
	t.Parallel()
	slow := writerFunc(func(p []byte) (int, error) { time.Sleep(400 * time.Millisecond); return len(p), nil })
	err := job{tool: "sh", args: []string{"-c", "echo a; sleep 0.05; echo b"}, stdout: slow, stall: 100 * time.Millisecond}.run(t.Context())
	require.NoError(t, err)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestRunFailureKeepsTheStderrTail(t *testing.T) {
	t.Parallel()
	err := job{tool: "sh", args: []string{"-c", `i=0; while [ $i -lt 2000 ]; do i=$((i+1)); echo "[demux @ 0x55d0c0ffee] line $i" >&2; done; exit 3`}}.run(t.Context())
	var te *ToolError
	require.ErrorAs(t, err, &te)
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.Equal(t, 3, exit.ExitCode())
	require.LessOrEqual(t, len(te.Stderr), stderrTail)
	require.True(t, strings.HasPrefix(te.Stderr, "[demux @ "), "starts at a whole line: %.40q", te.Stderr)
	require.True(t, strings.HasSuffix(te.Stderr, "line 2000"))
	require.NotContains(t, te.Reason(), "0x55d0c0ffee", "addresses are dropped")
	require.Regexp(t, `^sh: line \d+; .*; line 2000 \(exit status 3\)$`, err.Error())
}

func TestRunWithinTimeLimit(t *testing.T) {
	t.Parallel()
	err := job{tool: "sleep", args: []string{"30"}}.runWithin(t.Context(), 200*time.Millisecond)
	require.ErrorIs(t, err, ErrStalled)
	require.NotErrorIs(t, err, context.DeadlineExceeded, "not the caller's deadline")

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err = job{tool: "sleep", args: []string{"30"}}.runWithin(ctx, time.Minute)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the caller's deadline")
}

func TestRunMissingTool(t *testing.T) {
	t.Parallel()
	err := job{tool: "vindex-no-such-tool"}.run(t.Context())
	require.ErrorIs(t, err, ErrMissingTool)
	require.ErrorContains(t, err, "make deps")
}

func TestTailBuffer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		writes []string
		want   string
	}{
		{"short", []string{"a\n", "b\n"}, "a\nb"},
		{"exactly full", []string{"0123456\n", "9"}, "0123456\n9"},
		{"cut to a line start", []string{"first line\n", "second\n", "third"}, "third"},
		{"cut without newline keeps the bytes", []string{"abcdefghijklmnop"}, "ghijklmnop"},
		{"invalid UTF-8", []string{"ok \xff\n"}, "ok \uFFFD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := &tailBuffer{max: 10}
			for _, w := range tc.writes {
				_, _ = b.Write([]byte(w))
			}
			require.Equal(t, tc.want, b.String())
		})
	}
}

func TestProgressWriter(t *testing.T) {
	t.Parallel()
	block := func(us string, end bool) string {
		p := "continue"
		if end {
			p = "end"
		}
		return "frame=1\nout_time_us=" + us + "\nout_time=x\nprogress=" + p + "\n"
	}
	for _, tc := range []struct {
		name  string
		limit float64
		input string
		want  []float64
	}{
		{"throttled, final always reported", 0, block("1000000", false) + block("2000000", false) + block("3000000", true), []float64{1, 3}},
		{"N/A and negative are ignored", 0, block("N/A", false) + block("-9223372036854775807", false) + block("500000", true), []float64{0, 0.5}},
		{"capped at the duration", 2, block("1500000", false) + block("2040000", true), []float64{1.5, 2}},
		{"never backwards, no repeats", 0, block("2000000", false) + block("1000000", true), []float64{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []float64
			p := newProgressWriter(func(s float64) { got = append(got, s) }, tc.limit)
			for chunk := range chunks(tc.input, 7) { // lines split across writes
				_, _ = p.Write([]byte(chunk))
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func chunks(s string, n int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

func TestProgressWriterTimeThrottle(t *testing.T) {
	t.Parallel()
	var got []float64
	p := newProgressWriter(func(s float64) { got = append(got, s) }, 0)
	_, _ = p.Write([]byte("out_time_us=1000000\nprogress=continue\n"))
	_, _ = p.Write([]byte("out_time_us=2000000\nprogress=continue\n"))
	time.Sleep(progressEvery + 50*time.Millisecond)
	_, _ = p.Write([]byte("out_time_us=3000000\nprogress=continue\n"))
	require.Equal(t, []float64{1, 3}, got)
}
