package runner_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/runner"
)

// daguBin finds the Dagu binary: $VINDEX_DAGU_BIN, else <repo root>/.deps/bin/dagu.
func daguBin(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("VINDEX_DAGU_BIN"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "no go.mod above the test directory")
		dir = parent
	}
	bin := filepath.Join(dir, ".deps", "bin", "dagu")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("Dagu binary not found at %s: run make deps (or set VINDEX_DAGU_BIN)", bin)
	}
	return bin
}

// bundle is what setup returns.
type bundle struct {
	sup    *runner.Supervisor
	client *runner.Client
	home   string
	dir    string // scratch directory for files written by steps
}

// setup starts a runner in a fresh Home; tweak adjusts the options. Cleanup stops it and
// checks that no process of the Home is left.
func setup(t *testing.T, tweak func(*runner.Options)) *bundle {
	t.Helper()
	home := filepath.Join(t.TempDir(), "dagu")
	opts := runner.Options{
		Bin:            daguBin(t),
		Home:           home,
		MaxConcurrency: 4,
		Logger:         slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	if tweak != nil {
		tweak(&opts)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	begin := time.Now()
	sup, err := runner.Start(ctx, opts)
	require.NoError(t, err)
	t.Logf("start-up took %v", time.Since(begin))
	b := &bundle{sup: sup, client: sup.Client(), home: sup.Home(), dir: t.TempDir()}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = sup.Stop(ctx)
		requireNoProcesses(t, b.home)
	})
	return b
}

// processesOf lists live processes whose command line or environment mentions home.
func processesOf(home string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X') {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if bytes.Contains(cmd, []byte(home)) || bytes.Contains(env, []byte(home)) {
			out = append(out, fmt.Sprintf("%d %s", pid, bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
		}
	}
	return out
}

func requireNoProcesses(t *testing.T, home string) {
	t.Helper()
	require.Empty(t, processesOf(home), "processes of %s left", home)
}

// runID returns a unique run id: agent sockets in /tmp are named after DAG name and run id
// only, so parallel tests (and parallel test runs) must not reuse ids.
func runID(prefix string) string {
	return prefix + "-" + uuid.NewString()
}

// spec builds an inline DAG spec carrying the worker selector.
func spec(body string) string {
	return runner.WorkerSelectorYAML + body
}

// waitRun polls until cond holds for the run or the timeout passes.
func waitRun(t *testing.T, c *runner.Client, name, id string, timeout time.Duration, cond func(*runner.Run) bool) *runner.Run {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last *runner.Run
	var lastErr error
	for time.Now().Before(deadline) {
		r, err := c.Run(t.Context(), name, id)
		if err == nil {
			last = r
			if cond(r) {
				return r
			}
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("run %s/%s: condition not met within %v; last state %+v, last error %v", name, id, timeout, last, lastErr)
	return nil
}

func succeeded(r *runner.Run) bool { return r.Status == runner.StatusSucceeded }

// writeScript writes an executable shell script: commands with $ cannot go in a spec, because
// Dagu substitutes variables in command text.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755))
	return p
}

func TestGraphRunsOnWorker(t *testing.T) {
	t.Parallel()
	tricky := `pa$$w'o"rd \n $HOME ${HOME} ` + "`id -u`" + ` # x\ \"y\\z` + "\nline two\t"
	b := setup(t, func(o *runner.Options) {
		o.Env = []string{"VINDEX_TEST_TRICKY=" + tricky, "VINDEX_TEST_PLAIN=/usr/bin/vindex"}
	})
	require.NoError(t, b.client.Health(t.Context()))

	out := filepath.Join(b.dir, "out.txt")
	stamp := writeScript(t, b.dir, "stamp.sh", "date +%s.%N > \"$1\"\n")
	env := writeScript(t, b.dir, "env.sh", "printenv VINDEX_TEST_TRICKY > \"$1\"\nprintenv VINDEX_TEST_PLAIN >> \"$1\"\necho \"$2\" >> \"$1\"\n")
	dag := spec(fmt.Sprintf(`type: graph
params:
  - VIDEO_ID: none
steps:
  - name: first
    command: sh %[1]s %[2]s/started
  - name: left
    command: sh -c "echo left $VIDEO_ID >> %[3]s"
    depends: [first]
  - name: right
    command: sh %[4]s %[2]s/env ${VINDEX_TEST_PLAIN}
    depends: [first]
`, stamp, b.dir, out, env))
	id := runID("graph")
	video := uuid.NewString()
	enqueued := time.Now()
	require.NoError(t, b.client.Enqueue(t.Context(), "graph", dag, map[string]string{"VIDEO_ID": video}, id, b.sup.Queue()))

	r := waitRun(t, b.client, "graph", id, 30*time.Second, (*runner.Run).Terminal)
	require.Equal(t, runner.StatusSucceeded, r.Status, "%+v", r)
	require.Equal(t, "succeeded", r.StatusLabel)
	require.Equal(t, runner.WorkerID, r.WorkerID, "dispatched to the worker")
	require.Len(t, r.Nodes, 3)
	for _, n := range r.Nodes {
		require.Equal(t, "succeeded", n.Status, n.Step)
		require.False(t, n.StartedAt.IsZero(), n.Step)
		require.False(t, n.FinishedAt.IsZero(), n.Step)
	}

	got, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, "left "+video+"\n", string(got))
	got, err = os.ReadFile(filepath.Join(b.dir, "env"))
	require.NoError(t, err)
	require.Equal(t, tricky+"\n/usr/bin/vindex\n/usr/bin/vindex\n", string(got),
		"Options.Env reaches steps verbatim, and ${VAR} in command text (as pipelines/ingest.yaml uses it) expands")
	started, err := os.ReadFile(filepath.Join(b.dir, "started"))
	require.NoError(t, err)
	sec, err := strconv.ParseFloat(strings.TrimSpace(string(started)), 64)
	require.NoError(t, err)
	t.Logf("enqueue → first step running: %v", time.Unix(0, int64(sec*1e9)).Sub(enqueued).Round(time.Millisecond))

	logText, err := b.client.StepLog(t.Context(), "graph", id, "first", "stdout")
	require.NoError(t, err)
	require.Empty(t, logText)

	err = b.client.Enqueue(t.Context(), "graph", dag, map[string]string{"VIDEO_ID": video}, id, b.sup.Queue())
	require.ErrorIs(t, err, runner.ErrAlreadyExists)
	_, err = b.client.Run(t.Context(), "graph", runID("missing"))
	require.ErrorIs(t, err, runner.ErrNotFound)
}

func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	counter := filepath.Join(b.dir, "count")
	flaky := writeScript(t, b.dir, "flaky.sh", fmt.Sprintf(`n=$(cat %[1]s 2>/dev/null || echo 0)
n=$((n+1))
echo $n > %[1]s
echo "attempt $n" >&2
[ "$n" -ge 3 ]
`, counter))
	dag := spec(fmt.Sprintf(`steps:
  - name: flaky
    command: sh %s
    retryPolicy:
      limit: 2
      intervalSec: 1
`, flaky))
	id := runID("retry")
	require.NoError(t, b.client.Enqueue(t.Context(), "retry", dag, nil, id, b.sup.Queue()))
	r := waitRun(t, b.client, "retry", id, 30*time.Second, succeeded)
	require.Len(t, r.Nodes, 1)
	require.Equal(t, 2, r.Nodes[0].RetryCount)
	require.Equal(t, runner.WorkerID, r.WorkerID)
	stderr, err := b.client.StepLog(t.Context(), "retry", id, "flaky", "stderr")
	require.NoError(t, err)
	require.Contains(t, stderr, "attempt 3")
}

func TestRetryStepAndStopRun(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	counter := filepath.Join(b.dir, "count")
	once := writeScript(t, b.dir, "once.sh", fmt.Sprintf(`n=$(cat %[1]s 2>/dev/null || echo 0)
echo $((n+1)) > %[1]s
[ "$n" -ge 1 ]
`, counter))
	dag := spec(fmt.Sprintf("steps:\n  - name: once\n    command: sh %s\n", once))
	id := runID("retry-step")
	require.NoError(t, b.client.Enqueue(t.Context(), "retrystep", dag, nil, id, b.sup.Queue()))
	r := waitRun(t, b.client, "retrystep", id, 30*time.Second, (*runner.Run).Terminal)
	require.Equal(t, runner.StatusFailed, r.Status)
	require.Contains(t, r.Node("once").Error, "exit status 1")

	// Right away: RetryStep waits out the second after the end in which Dagu drops retries.
	require.NoError(t, b.client.RetryStep(t.Context(), "retrystep", id, "once"))
	r = waitRun(t, b.client, "retrystep", id, 30*time.Second, succeeded)
	t.Logf("step retry ran on %q", r.WorkerID)
	require.ErrorIs(t, b.client.RetryStep(t.Context(), "retrystep", runID("missing"), "once"), runner.ErrNotFound)

	long := spec("steps:\n  - name: wait\n    command: sleep 600\n")
	id = runID("stop")
	require.NoError(t, b.client.Enqueue(t.Context(), "stoprun", long, nil, id, b.sup.Queue()))
	waitRun(t, b.client, "stoprun", id, 15*time.Second, func(r *runner.Run) bool {
		return len(r.Nodes) == 1 && r.Nodes[0].Status == "running"
	})
	require.NoError(t, b.client.Stop(t.Context(), "stoprun", id))
	r = waitRun(t, b.client, "stoprun", id, 15*time.Second, (*runner.Run).Terminal)
	require.Equal(t, runner.StatusAborted, r.Status)
	for _, p := range processesOf(b.home) {
		require.NotContains(t, p, "sleep 600")
	}
}

// A worker that stops heartbeating while its process lives (after a coordinator restart
// Dagu has left one unregistered) is restarted by the watchdog.
func TestSilentWorkerIsRestarted(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	old := b.sup.ChildPID(runner.RoleWorker)
	require.NoError(t, syscall.Kill(old, syscall.SIGSTOP))
	stopped := time.Now()
	require.Eventually(t, func() bool {
		pid := b.sup.ChildPID(runner.RoleWorker)
		return pid != 0 && pid != old
	}, 40*time.Second, 100*time.Millisecond)
	t.Logf("silent worker replaced after %v", time.Since(stopped).Round(time.Millisecond))
	id := runID("after-silent")
	require.NoError(t, b.client.Enqueue(t.Context(), "silent", spec("steps:\n  - name: a\n    command: \"true\"\n"), nil, id, b.sup.Queue()))
	r := waitRun(t, b.client, "silent", id, 30*time.Second, succeeded)
	require.Equal(t, runner.WorkerID, r.WorkerID)
}

func TestLongRunDoesNotBlockQueue(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *runner.Options) { o.MaxConcurrency = 2 })
	// Both runs use one DAG name, as vindex's ingest runs do.
	long := spec("steps:\n  - name: long\n    command: sleep 10\n")
	quick := spec("steps:\n  - name: quick\n    command: \"true\"\n")
	longID, quickID := runID("long"), runID("quick")
	begin := time.Now()
	require.NoError(t, b.client.Enqueue(t.Context(), "ingest", long, nil, longID, b.sup.Queue()))
	require.NoError(t, b.client.Enqueue(t.Context(), "ingest", quick, nil, quickID, b.sup.Queue()))

	waitRun(t, b.client, "ingest", quickID, 8*time.Second, succeeded)
	quickTook := time.Since(begin)
	// Both leave the queue in one pass; the long one can still show "queued" for a moment
	// while the worker spawns its agent.
	r, err := b.client.Run(t.Context(), "ingest", longID)
	require.NoError(t, err)
	require.False(t, r.Terminal(), "the long run is not done when the quick one is: %+v", r)
	r = waitRun(t, b.client, "ingest", longID, 30*time.Second, succeeded)
	longTook := time.Since(begin)
	require.Equal(t, runner.WorkerID, r.WorkerID)
	require.Greater(t, longTook-quickTook, 5*time.Second, "the quick run finished well before the long one")
	t.Logf("quick run done after %v, long run after %v", quickTook.Round(time.Millisecond), longTook.Round(time.Millisecond))
}

func TestStartAllKilledMidRun(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	marker := filepath.Join(b.dir, "done")
	dag := spec(fmt.Sprintf("steps:\n  - name: slow\n    command: sleep 4\n  - name: mark\n    command: touch %s\n", marker))
	id := runID("crash")
	require.NoError(t, b.client.Enqueue(t.Context(), "crash", dag, nil, id, b.sup.Queue()))
	waitRun(t, b.client, "crash", id, 15*time.Second, func(r *runner.Run) bool { return r.Status == runner.StatusRunning })

	old := b.sup.ChildPID(runner.RoleAPI)
	require.NoError(t, syscall.Kill(old, syscall.SIGKILL))
	killed := time.Now()
	require.Eventually(t, func() bool {
		pid := b.sup.ChildPID(runner.RoleAPI)
		return pid != 0 && pid != old && b.client.Health(t.Context()) == nil
	}, 20*time.Second, 50*time.Millisecond)
	t.Logf("start-all back and healthy %v after kill -9", time.Since(killed).Round(time.Millisecond))

	r := waitRun(t, b.client, "crash", id, 30*time.Second, succeeded)
	require.Equal(t, runner.WorkerID, r.WorkerID)
	require.FileExists(t, marker)

	id2 := runID("after")
	enqueued := time.Now()
	require.NoError(t, b.client.Enqueue(t.Context(), "crash", spec("steps:\n  - name: a\n    command: \"true\"\n"), nil, id2, b.sup.Queue()))
	r = waitRun(t, b.client, "crash", id2, 30*time.Second, succeeded)
	require.Equal(t, runner.WorkerID, r.WorkerID)
	t.Logf("run after the restart done %v after enqueue", time.Since(enqueued).Round(time.Millisecond))
}

func TestWorkerKilled(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	old := b.sup.ChildPID(runner.RoleWorker)
	require.NoError(t, syscall.Kill(old, syscall.SIGKILL))
	require.Eventually(t, func() bool {
		pid := b.sup.ChildPID(runner.RoleWorker)
		return pid != 0 && pid != old
	}, 10*time.Second, 50*time.Millisecond)

	id := runID("after-worker")
	require.NoError(t, b.client.Enqueue(t.Context(), "wk", spec("steps:\n  - name: a\n    command: \"true\"\n"), nil, id, b.sup.Queue()))
	r := waitRun(t, b.client, "wk", id, 30*time.Second, succeeded)
	require.Equal(t, runner.WorkerID, r.WorkerID)
}

func TestStopDrainsRunningStep(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	marker := filepath.Join(b.dir, "finished")
	dag := spec(fmt.Sprintf("steps:\n  - name: work\n    command: sh -c \"sleep 3 && touch %s\"\n", marker))
	id := runID("drain")
	require.NoError(t, b.client.Enqueue(t.Context(), "drain", dag, nil, id, b.sup.Queue()))
	waitRun(t, b.client, "drain", id, 15*time.Second, func(r *runner.Run) bool {
		return len(r.Nodes) == 1 && r.Nodes[0].Status == "running"
	})

	require.True(t, b.sup.AgentRunning(id))
	require.False(t, b.sup.AgentRunning(runID("other")))

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	begin := time.Now()
	require.NoError(t, b.sup.Stop(ctx))
	t.Logf("Stop took %v", time.Since(begin).Round(time.Millisecond))
	require.FileExists(t, marker, "the step finished before Stop returned")
	requireNoProcesses(t, b.home)
	select {
	case <-b.sup.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	require.ErrorIs(t, b.client.Enqueue(t.Context(), "drain", dag, nil, runID("late"), b.sup.Queue()), runner.ErrStopping)
}

func TestStopCutsDrainShortAtDeadline(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	dag := spec("steps:\n  - name: forever\n    command: sleep 600\n")
	id := runID("forever")
	require.NoError(t, b.client.Enqueue(t.Context(), "forever", dag, nil, id, b.sup.Queue()))
	waitRun(t, b.client, "forever", id, 15*time.Second, func(r *runner.Run) bool {
		return len(r.Nodes) == 1 && r.Nodes[0].Status == "running"
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	err := b.sup.Stop(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, err.Error(), "sleep 600")
	requireNoProcesses(t, b.home)
}

func TestTokenRequired(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *runner.Options) { o.Token = "the-right-token" })
	id := runID("auth")
	for _, token := range []string{"", "a-wrong-token"} {
		c := runner.NewClient(b.client.BaseURL, token)
		require.NoError(t, c.Health(t.Context()), "health needs no token")
		_, err := c.Run(t.Context(), "x", id)
		require.ErrorIs(t, err, runner.ErrUnauthorized)
		require.Contains(t, err.Error(), "401")
		err = c.Enqueue(t.Context(), "x", spec("steps:\n  - command: \"true\"\n"), nil, id, "")
		require.ErrorIs(t, err, runner.ErrUnauthorized)
	}
	_, err := runner.NewClient(b.client.BaseURL, "the-right-token").Run(t.Context(), "x", id)
	require.ErrorIs(t, err, runner.ErrNotFound)
}

func TestStartRefusesEnvThatCannotReachSteps(t *testing.T) {
	t.Parallel()
	for _, env := range []string{"A=ends with \\", "A=cr\r", "no-equals", "1A=x"} {
		_, err := runner.Start(t.Context(), runner.Options{Bin: daguBin(t), Home: t.TempDir(), Env: []string{env}})
		require.ErrorIs(t, err, runner.ErrInvalid, env)
	}
}

func TestStartErrorQuotesTheChildLog(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = taken.Close() }()
	home := filepath.Join(t.TempDir(), "dagu")
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Second)
	defer cancel()
	_, err = runner.Start(ctx, runner.Options{
		Bin: daguBin(t), Home: home, Port: taken.Addr().(*net.TCPAddr).Port,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	require.Error(t, err)
	require.Contains(t, err.Error(), "--- last lines of "+filepath.Join(home, "logs", "start-all.log"))
	require.Contains(t, err.Error(), "address already in use")
	requireNoProcesses(t, home)
}

func TestSecondSupervisorOnSameHomeIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	_, err := runner.Start(t.Context(), runner.Options{Bin: daguBin(t), Home: b.home})
	require.ErrorIs(t, err, runner.ErrInUse)
}

// TestHelperRunner is not a test: TestCrashedOwner runs the test binary with it to play a
// vindex that starts a runner, starts a run and is then killed with SIGKILL.
func TestHelperRunner(t *testing.T) {
	t.Parallel()
	home := os.Getenv("RUNNER_HELPER_HOME")
	if home == "" {
		t.Skip("helper process for TestCrashedOwner")
	}
	sup, err := runner.Start(t.Context(), runner.Options{Bin: daguBin(t), Home: home})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	id := runID("orphan")
	if err := sup.Client().Enqueue(t.Context(), "orphan", spec("steps:\n  - name: s\n    command: sleep 120\n"), nil, id, sup.Queue()); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	for {
		r, err := sup.Client().Run(t.Context(), "orphan", id)
		if err == nil && len(r.Nodes) == 1 && r.Nodes[0].Status == "running" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Println("ready")
	time.Sleep(time.Hour)
}

func TestCrashedOwnerIsCleanedUpOnNextStart(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "dagu")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRunner$", "-test.v")
	cmd.Env = append(os.Environ(), "RUNNER_HELPER_HOME="+home)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line := sc.Text(); line == "ready" || strings.HasPrefix(line, "error:") {
				ready <- line
			}
		}
		close(ready)
	}()
	select {
	case line := <-ready:
		require.Equal(t, "ready", line)
	case <-time.After(60 * time.Second):
		t.Fatal("helper did not get ready")
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()

	// The parent-death signal takes start-all and the worker down; the run's agent and its
	// `sleep 120` are separate processes and survive until the next Start on this Home.
	require.Eventually(t, func() bool {
		for _, p := range processesOf(home) {
			if strings.Contains(p, "start-all") || strings.Contains(p, " worker ") {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond, "children outlived their parent: %v", processesOf(home))
	left := processesOf(home)
	t.Logf("left after the owner died: %v", left)

	begin := time.Now()
	b := &bundle{}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	sup, err := runner.Start(ctx, runner.Options{Bin: daguBin(t), Home: home, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	require.NoError(t, err)
	b.sup, b.client = sup, sup.Client()
	t.Logf("restart on the crashed home took %v", time.Since(begin))
	t.Cleanup(func() {
		_ = sup.Stop(context.Background())
		requireNoProcesses(t, home)
	})
	for _, p := range processesOf(home) {
		require.NotContains(t, p, "sleep 120", "the orphaned step was stopped")
	}

	// The queue works at once: the stale scheduler lock did not hold it for ~25 s.
	id := runID("fresh")
	enqueued := time.Now()
	require.NoError(t, b.client.Enqueue(t.Context(), "fresh", spec("steps:\n  - name: a\n    command: \"true\"\n"), nil, id, sup.Queue()))
	waitRun(t, b.client, "fresh", id, 10*time.Second, succeeded)
	t.Logf("first run on the restarted home done %v after enqueue", time.Since(enqueued).Round(time.Millisecond))
}
