package runner

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// group is what a Supervisor and a Worker share: the Dagu binary, a Home locked for the
// owner's lifetime, and supervised children — one per role, each with a capped log — that
// are restarted with backoff when they die, and drained and stopped by Stop.
type group struct {
	name   string // "dagu runner", "dagu worker": for messages
	bin    string
	paths  homePaths
	logger *slog.Logger
	lock   *os.File
	logs   map[string]*logFile

	// args returns the command line of role's child. respawn starts role's child again after
	// it died, once the backoff has passed, and checks that it came back in working order.
	args    func(role string) []string
	respawn func(role string)
	// exited, if set, is called as soon as role's child has died (before the backoff).
	exited func(role string)

	stopping atomic.Bool // set once Stop began or supervision gave up

	mu       sync.Mutex
	children map[string]*child
	// restartReq marks a role whose next exit we asked for (a watchdog): it restarts at once
	// and does not count as a crash.
	restartReq map[string]bool

	// ctx ends when Stop begins or supervision gives up; the supervision goroutines (wg)
	// then return.
	ctx      context.Context
	cancel   context.CancelFunc
	quitOnce sync.Once
	wg       sync.WaitGroup
	done     chan struct{}
	failErr  error // why supervision gave up; written before done closes

	stopOnce sync.Once
	stopErr  error
}

// newGroup resolves the binary ("" looks up "dagu" on PATH), prepares and locks home, and
// opens a log per role.
func newGroup(name, binName, home string, roles []string, logger *slog.Logger) (*group, error) {
	if binName == "" {
		binName = "dagu"
	}
	bin, err := exec.LookPath(binName)
	if err != nil {
		return nil, fmt.Errorf("dagu binary: %w (make deps installs it)", err)
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return nil, err
	}
	resolved, err := prepareHome(home)
	if err != nil {
		return nil, fmt.Errorf("prepare home: %w", err)
	}
	paths := homePaths{resolved}
	lock, err := lockHome(paths)
	if err != nil {
		return nil, err
	}
	g := &group{
		name:       name,
		bin:        bin,
		paths:      paths,
		logger:     logger,
		lock:       lock,
		logs:       map[string]*logFile{},
		children:   map[string]*child{},
		restartReq: map[string]bool{},
		done:       make(chan struct{}),
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	for _, role := range roles {
		l, err := openLogFile(filepath.Join(paths.logs(), role+".log"), defaultMaxLog)
		if err != nil {
			g.cancel()
			g.release()
			return nil, err
		}
		g.logs[role] = l
	}
	return g, nil
}

func (g *group) current(role string) *child {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.children[role]
}

func (g *group) spawn(role string) (*child, error) {
	l := g.logs[role]
	l.rotate()
	from := l.offset()
	cmd := exec.Command(g.bin, g.args(role)...)
	cmd.Dir = g.paths.home
	cmd.Env = g.childEnv()
	cmd.Stdout, cmd.Stderr = l.f, l.f
	c, err := spawn(role, cmd, from)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.children[role] = c
	pids := map[string]int{}
	for r, ch := range g.children {
		pids[r] = ch.pid
	}
	g.mu.Unlock()
	writePidFile(g.paths, pids)
	return c, nil
}

// childEnv is a small environment for the Dagu processes: vindex's own may hold secrets
// (signing keys, database URLs) that Dagu has no use for, and DAGU_* variables of the user's
// shell would override config.yaml. DAGU_HOME doubles as the marker that identifies every
// process of this Home (proc.go), and it is what base.yaml's dotenv path is expanded with on
// the machine that runs a step (config.go). TMPDIR keeps the worker's DAG copies
// ($TMPDIR/dagu/) apart from other runners'.
func (g *group) childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "PATH", k == "HOME", k == "USER", k == "LOGNAME", k == "LANG", k == "TZ",
			k == "SHELL", k == "LD_LIBRARY_PATH", strings.HasPrefix(k, "LC_"):
			env = append(env, kv)
		}
	}
	return append(env, g.paths.marker(), "TMPDIR="+g.paths.tmp())
}

// checkVersion warns when the binary is not the Dagu version whose behaviour this package
// was written against (its traps are version-specific).
func (g *group) checkVersion(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, g.bin, "version").CombinedOutput()
	v := strings.TrimSpace(string(out))
	if err != nil || !strings.HasPrefix(v, "1.30.") {
		g.logger.WarnContext(ctx, "unexpected dagu version; this runner was written for 1.30.x", "bin", g.bin, "version", v, "err", err)
	}
}

// supervise restarts role's child (through respawn) whenever it exits, until the group stops.
func (g *group) supervise(role string) {
	defer g.wg.Done()
	backoff := minBackoff
	quick := 0
	for {
		c := g.current(role)
		select {
		case <-c.done:
		case <-g.ctx.Done():
			return
		}
		if g.ctx.Err() != nil {
			return
		}
		if g.exited != nil {
			g.exited(role)
		}
		g.mu.Lock()
		requested := g.restartReq[role]
		delete(g.restartReq, role)
		g.mu.Unlock()
		ran := time.Since(c.started)
		delay := backoff
		switch {
		case requested:
			delay, backoff, quick = 0, minBackoff, 0
		case ran >= stableAfter:
			delay, backoff, quick = minBackoff, minBackoff, 0
		default:
			quick++
			backoff = min(backoff*2, maxBackoff)
		}
		tail := g.logs[role].tail(c.logFrom)
		if quick >= maxQuickCrashes {
			g.fail(fmt.Errorf("dagu %s died %d times in a row soon after starting; last: %v%s", role, quick, c.err, tail))
			return
		}
		if !requested {
			g.logger.Warn("dagu child died; restarting", "child", role, "pid", c.pid, "exit", fmt.Sprint(c.err),
				"ran", ran.Round(time.Millisecond), "restart_in", delay, "log", tail)
		}
		select {
		case <-time.After(delay):
		case <-g.ctx.Done():
			return
		}
		g.respawn(role)
	}
}

// restart stops role's child so that its supervision loop starts a new one at once. A
// worker's running agents are not affected: they are separate processes that outlive it.
func (g *group) restart(role, reason string) {
	c := g.current(role)
	if c == nil || c.exited() {
		return
	}
	g.mu.Lock()
	g.restartReq[role] = true
	g.mu.Unlock()
	g.logger.Warn("restarting dagu "+role, "pid", c.pid, "reason", reason)
	c.signal(syscall.SIGTERM)
	c.signal(syscall.SIGCONT) // a stopped process acts on SIGTERM only once continued
	c.await(10 * time.Second)
}

// fail gives up supervision: everything is stopped without draining and Done closes.
func (g *group) fail(err error) {
	g.quitOnce.Do(func() {
		g.logger.Error(g.name+" gave up", "err", err)
		g.failErr = err
		g.stopping.Store(true)
		g.cancel()
		go func() {
			g.wg.Wait()
			g.teardown()
			g.release()
			close(g.done)
		}()
	})
}

// Done is closed when the group has stopped: after Stop, or when supervision gave up because
// a child kept dying (then Err says why).
func (g *group) Done() <-chan struct{} { return g.done }

// Err returns why supervision gave up, or nil.
func (g *group) Err() error {
	select {
	case <-g.done:
		return g.failErr
	default:
		return nil
	}
}

// stop ends supervision, runs drain and releases the Home; later calls return the first
// call's result.
func (g *group) stop(ctx context.Context, drain func(context.Context) error) error {
	g.stopOnce.Do(func() {
		first := false
		g.quitOnce.Do(func() {
			first = true
			g.stopping.Store(true)
			g.cancel()
		})
		if !first { // supervision gave up earlier and is tearing down on its own
			<-g.done
			g.stopErr = fmt.Errorf("stop %s: it had already given up: %w", g.name, g.failErr)
			return
		}
		g.wg.Wait()
		g.stopErr = drain(ctx)
		g.release()
		close(g.done)
	})
	return g.stopErr
}

// drain tells the worker w to stop (it stops polling and exits within ~1.5 s; the agents it
// started are separate processes and carry on), waits until every process of the Home other
// than w and last has exited or ctx ends, then stops last (may be nil) and terminates
// whatever is left, so that no process of the Home outlives it. It returns ctx's error, with
// what was still running, when the drain was cut short.
func (g *group) drain(ctx context.Context, w, last *child) error {
	begin := time.Now()
	g.logger.InfoContext(ctx, "draining "+g.name)
	keep := map[int]bool{}
	for _, c := range []*child{w, last} {
		if c != nil && !c.exited() {
			keep[c.pid] = true
		}
	}
	if w != nil {
		w.signal(syscall.SIGTERM)
	}
	var drainErr error
	if err := waitNone(ctx, g.paths.marker(), keep); err != nil {
		var busy []int
		for _, p := range ownedProcs(g.paths.marker()) {
			if !keep[p] {
				busy = append(busy, p)
			}
		}
		drainErr = fmt.Errorf("drain %s: %w; terminating %d processes still running: %s",
			g.name, err, len(busy), strings.Join(describe(busy), "; "))
	}
	if last != nil {
		last.signal(syscall.SIGTERM)
	}
	for _, c := range []*child{w, last} {
		if c != nil {
			c.await(10 * time.Second)
		}
	}
	if pids := terminate(g.paths.marker(), nil, 3*time.Second); len(pids) > 0 {
		g.logger.Warn("terminated dagu processes left after drain", "processes", pids)
	}
	g.logger.Info(g.name+" stopped", "took", time.Since(begin).Round(time.Millisecond), "err", drainErr)
	return drainErr
}

// teardown stops everything at once, without draining (failed start, given-up supervision).
func (g *group) teardown() {
	terminate(g.paths.marker(), nil, 3*time.Second)
	g.mu.Lock()
	children := make([]*child, 0, len(g.children))
	for _, c := range g.children {
		children = append(children, c)
	}
	g.mu.Unlock()
	for _, c := range children {
		c.stop(syscall.SIGKILL, 5*time.Second)
	}
}

// release frees what the group holds in this process; the children must be gone.
func (g *group) release() {
	_ = os.Remove(g.paths.pidFile())
	for _, l := range g.logs {
		l.close()
	}
	_ = g.lock.Close()
}

// agentRunning reports whether a Dagu agent process for run runID is alive among the Home's
// processes on this machine.
func (g *group) agentRunning(runID string) bool {
	if !idPattern.MatchString(runID) {
		return false
	}
	arg := "--run-id=" + runID
	for _, p := range ownedProcs(g.paths.marker()) {
		for _, a := range strings.Fields(cmdline(p)) {
			if a == arg {
				return true
			}
		}
	}
	return false
}
