package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Options configures Start.
type Options struct {
	// Bin is the dagu binary (1.30.x); "" looks up "dagu" on PATH.
	Bin string
	// Home is DAGU_HOME: configuration, state and logs. Created if missing; one Supervisor
	// at a time (ErrInUse).
	Home string
	// Port is the API port on 127.0.0.1; 0 picks a free one.
	Port int
	// Token is the API bearer token; "" generates one (see Supervisor.Client).
	Token string
	// Queue is the named queue runs should be enqueued on; default "ingest".
	Queue string
	// MaxConcurrency is the queue's limit of runs at once; default 4.
	MaxConcurrency int
	// WorkerMaxActiveRuns is how many runs the local worker executes at once; default
	// MaxConcurrency.
	WorkerMaxActiveRuns int
	// Env is extra environment (KEY=VALUE) for steps, e.g. VINDEX_DATABASE_URL and the vindex
	// binary's path. Values arrive verbatim.
	Env []string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

const (
	roleAPI    = "start-all"
	roleWorker = "worker"

	minBackoff = 500 * time.Millisecond
	maxBackoff = 10 * time.Second
	// A child that ran this long before dying is restarted after minBackoff again.
	stableAfter = 30 * time.Second
	// After this many consecutive restarts that died within stableAfter, the Supervisor
	// gives up (Done closes, Err says why): with the backoff that is about a minute of trying.
	maxQuickCrashes = 10

	// healthWait bounds each wait for start-all's health after a restart; registerWait
	// bounds the wait for the worker's first heartbeat after a start of either child.
	healthWait   = 30 * time.Second
	registerWait = 10 * time.Second
	// A worker whose last heartbeat is older than staleHeartbeat (it beats every second) is
	// restarted by the watchdog: after a coordinator restart a worker may never come back
	// (dagu.md: one of three did not re-register until restarted).
	staleHeartbeat = 15 * time.Second
	watchEvery     = 5 * time.Second
	// start-all is killed (and so restarted) after this many failed health checks in a row,
	// one per watchEvery.
	maxHealthFailures = 4

	// defaultStartTimeout bounds Start when its context has no deadline.
	defaultStartTimeout = 60 * time.Second
)

// Supervisor runs Dagu as two supervised children — `dagu start-all` (API, queue, coordinator)
// and one `dagu worker` — restarting them when they die. See the package documentation.
type Supervisor struct {
	opts   Options
	bin    string
	paths  homePaths
	logger *slog.Logger
	client *Client
	lock   *os.File
	logs   map[string]*logFile

	apiPort, coordPort int
	stopping           atomic.Bool // makes the client refuse Enqueue

	mu       sync.Mutex
	children map[string]*child
	// restartReq marks a role whose next exit we asked for (the watchdog, or a coordinator
	// restart): it restarts at once and does not count as a crash.
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

// Start writes Home's configuration, stops anything a crashed previous owner left running on
// Home, starts start-all and the worker, and returns once the API answers healthy and the
// worker has registered with the coordinator. ctx bounds the start-up only (60 s when it has
// no deadline); the children run until Stop.
func Start(ctx context.Context, opts Options) (*Supervisor, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}
	s, err := newSupervisor(opts)
	if err != nil {
		return nil, fmt.Errorf("start dagu runner: %w", err)
	}
	if err := s.start(ctx); err != nil {
		s.cancel()
		s.teardown()
		s.release()
		return nil, fmt.Errorf("start dagu runner in %s: %w", s.paths.home, err)
	}
	return s, nil
}

func newSupervisor(opts Options) (*Supervisor, error) {
	if opts.Home == "" {
		return nil, fmt.Errorf("%w: Options.Home is empty", ErrInvalid)
	}
	if opts.Queue == "" {
		opts.Queue = "ingest"
	}
	if !idPattern.MatchString(opts.Queue) {
		return nil, fmt.Errorf("%w: queue %q must match %s", ErrInvalid, opts.Queue, idPattern)
	}
	if opts.MaxConcurrency <= 0 {
		opts.MaxConcurrency = 4
	}
	if opts.WorkerMaxActiveRuns <= 0 {
		opts.WorkerMaxActiveRuns = opts.MaxConcurrency
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("%w: port %d", ErrInvalid, opts.Port)
	}
	if err := checkEnv(opts.Env); err != nil {
		return nil, err
	}
	if opts.Token == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("generate token: %w", err)
		}
		opts.Token = hex.EncodeToString(b)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	name := opts.Bin
	if name == "" {
		name = "dagu"
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("dagu binary: %w (make deps installs it)", err)
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return nil, err
	}
	home, err := prepareHome(opts.Home)
	if err != nil {
		return nil, fmt.Errorf("prepare home: %w", err)
	}
	paths := homePaths{home}
	lock, err := lockHome(paths)
	if err != nil {
		return nil, err
	}
	s := &Supervisor{
		opts:       opts,
		bin:        bin,
		paths:      paths,
		logger:     opts.Logger.With("component", "dagu-runner"),
		lock:       lock,
		logs:       map[string]*logFile{},
		children:   map[string]*child{},
		restartReq: map[string]bool{},
		done:       make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, role := range []string{roleAPI, roleWorker} {
		l, err := openLogFile(filepath.Join(paths.logs(), role+".log"), defaultMaxLog)
		if err != nil {
			s.cancel()
			s.release()
			return nil, err
		}
		s.logs[role] = l
	}
	return s, nil
}

func (s *Supervisor) start(ctx context.Context) error {
	begin := time.Now()
	s.checkVersion(ctx)
	cleanupStale(s.paths, s.logger)
	if err := writeBase(s.paths, s.opts.Env); err != nil {
		return fmt.Errorf("write base.yaml: %w", err)
	}
	// A free port can be taken between our probe and Dagu's bind; waitHealthy then reports
	// "address already in use" from the log and we try other ports.
	const attempts = 3
	for attempt := 1; ; attempt++ {
		err := s.startAPI(ctx)
		if err == nil {
			break
		}
		if s.opts.Port != 0 || attempt == attempts || ctx.Err() != nil || !strings.Contains(err.Error(), "address already in use") {
			return err
		}
		s.logger.WarnContext(ctx, "dagu port taken; retrying with other ports", "err", err)
		resetScheduler(s.paths)
	}
	apiUp := time.Now()
	w, err := s.spawn(roleWorker)
	if err != nil {
		return err
	}
	// The coordinator has just started and knows no worker yet, so any heartbeat will do.
	if err := s.waitHeartbeat(ctx, time.Time{}, w); err != nil {
		return err
	}
	s.wg.Add(3)
	go s.supervise(roleAPI)
	go s.supervise(roleWorker)
	go s.watch()
	s.logger.InfoContext(ctx, "dagu runner ready", "url", s.client.BaseURL, "home", s.paths.home,
		"queue", s.opts.Queue, "max_concurrency", s.opts.MaxConcurrency,
		"api_ready_after", apiUp.Sub(begin), "took", time.Since(begin))
	return nil
}

// startAPI picks ports, writes config.yaml, starts start-all and waits until it is healthy.
func (s *Supervisor) startAPI(ctx context.Context) error {
	var err error
	s.apiPort = s.opts.Port
	if s.apiPort == 0 {
		if s.apiPort, err = freePort(); err != nil {
			return fmt.Errorf("pick API port: %w", err)
		}
	}
	if s.coordPort, err = freePort(); err != nil {
		return fmt.Errorf("pick coordinator port: %w", err)
	}
	if err := writeConfig(s.paths, s.opts, s.apiPort, s.coordPort); err != nil {
		return fmt.Errorf("write config.yaml: %w", err)
	}
	s.client = NewClient("http://127.0.0.1:"+strconv.Itoa(s.apiPort), s.opts.Token)
	s.client.stopping = &s.stopping
	c, err := s.spawn(roleAPI)
	if err != nil {
		return err
	}
	return s.waitHealthy(ctx, c)
}

// Client returns a client for the runner's API, authenticated with its token. Its Enqueue
// returns ErrStopping once Stop has begun.
func (s *Supervisor) Client() *Client { return s.client }

// Queue is the name of the queue runs should be enqueued on.
func (s *Supervisor) Queue() string { return s.opts.Queue }

// Done is closed when the runner has stopped: after Stop, or when supervision gave up
// because a child kept dying (then Err says why and the server should shut down rather than
// accept uploads it cannot process).
func (s *Supervisor) Done() <-chan struct{} { return s.done }

// Err returns why supervision gave up, or nil.
func (s *Supervisor) Err() error {
	select {
	case <-s.done:
		return s.failErr
	default:
		return nil
	}
}

// AgentRunning reports whether a Dagu agent process for run runID is alive on this machine
// (agents on workers elsewhere are not seen). After a crash Dagu keeps showing a run
// "running" for ~45 s (then "failed", with the step still "running"); this tells such a run
// from one that really is running, so that a reconciler can act at once.
func (s *Supervisor) AgentRunning(runID string) bool {
	if !idPattern.MatchString(runID) {
		return false
	}
	arg := "--run-id=" + runID
	for _, p := range ownedProcs(s.paths.marker()) {
		for _, a := range strings.Fields(cmdline(p)) {
			if a == arg {
				return true
			}
		}
	}
	return false
}

func (s *Supervisor) current(role string) *child {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.children[role]
}

func (s *Supervisor) spawn(role string) (*child, error) {
	l := s.logs[role]
	l.rotate()
	from := l.offset()
	cmd := exec.Command(s.bin, s.args(role)...)
	cmd.Dir = s.paths.home
	cmd.Env = s.childEnv()
	cmd.Stdout, cmd.Stderr = l.f, l.f
	c, err := spawn(role, cmd, from)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.children[role] = c
	pids := map[string]int{}
	for r, ch := range s.children {
		pids[r] = ch.pid
	}
	s.mu.Unlock()
	writePidFile(s.paths, pids)
	return c, nil
}

func (s *Supervisor) args(role string) []string {
	cfg := s.paths.config()
	if role == roleAPI {
		return []string{"start-all", "--config", cfg}
	}
	return []string{"worker", "--config", cfg,
		"--worker.id", WorkerID,
		"--worker.labels", WorkerLabelKey + "=" + WorkerLabelValue,
		"--worker.max-active-runs", strconv.Itoa(s.opts.WorkerMaxActiveRuns)}
}

// childEnv is a small environment for the Dagu processes: vindex's own may hold secrets
// (signing keys, database URLs) that Dagu has no use for, and DAGU_* variables of the user's
// shell would override config.yaml. DAGU_HOME doubles as the marker that identifies every
// process of this Home (proc.go). TMPDIR keeps the worker's DAG copies ($TMPDIR/dagu/) apart
// from other runners'.
func (s *Supervisor) childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "PATH", k == "HOME", k == "USER", k == "LOGNAME", k == "LANG", k == "TZ",
			k == "SHELL", k == "LD_LIBRARY_PATH", strings.HasPrefix(k, "LC_"):
			env = append(env, kv)
		}
	}
	return append(env, s.paths.marker(), "TMPDIR="+s.paths.tmp())
}

// checkVersion warns when the binary is not the Dagu version whose behaviour this package
// was written against (its traps are version-specific).
func (s *Supervisor) checkVersion(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, s.bin, "version").CombinedOutput()
	v := strings.TrimSpace(string(out))
	if err != nil || !strings.HasPrefix(v, "1.30.") {
		s.logger.WarnContext(ctx, "unexpected dagu version; this runner was written for 1.30.x", "bin", s.bin, "version", v, "err", err)
	}
}

// waitHealthy polls the health endpoint until it answers healthy, c exits, or ctx ends.
func (s *Supervisor) waitHealthy(ctx context.Context, c *child) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		hctx, cancel := context.WithTimeout(ctx, time.Second)
		last = s.client.Health(hctx)
		cancel()
		if last == nil {
			return nil
		}
		// start-all 1.30 does not exit when its HTTP server cannot start (port taken): it logs
		// this and carries on with scheduler and coordinator, so the log is the only sign.
		if s.logs[roleAPI].contains(c.logFrom, "Server failed to start") {
			c.stop(syscall.SIGKILL, 5*time.Second)
			return fmt.Errorf("dagu start-all could not start its API server%s", s.logs[roleAPI].tail(c.logFrom))
		}
		select {
		case <-c.done:
			return fmt.Errorf("dagu start-all exited before it was healthy: %v%s", c.err, s.logs[roleAPI].tail(c.logFrom))
		case <-ctx.Done():
			return fmt.Errorf("dagu start-all not healthy: %w (last: %v)%s", ctx.Err(), last, s.logs[roleAPI].tail(c.logFrom))
		case <-tick.C:
		}
	}
}

// waitHeartbeat waits until the coordinator has a heartbeat of the worker w later than after,
// w exits, or ctx ends. Heartbeats have whole-second resolution, so a caller that must not
// mistake a previous worker's last beat for a new one passes its spawn time truncated to the
// second; a coordinator that has just (re)started knows no worker yet, and any beat will do.
func (s *Supervisor) waitHeartbeat(ctx context.Context, after time.Time, w *child) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		hb, err := s.heartbeat(wctx)
		cancel()
		last = err
		if err == nil && hb.After(after) {
			return nil
		}
		select {
		case <-w.done:
			return fmt.Errorf("dagu worker exited before it registered: %v%s", w.err, s.logs[roleWorker].tail(w.logFrom))
		case <-ctx.Done():
			return fmt.Errorf("dagu worker did not register with the coordinator: %w (last heartbeat %v, last error %v)%s",
				ctx.Err(), hb, last, s.logs[roleWorker].tail(w.logFrom))
		case <-tick.C:
		}
	}
}

// heartbeat returns the last heartbeat the coordinator has of our worker (zero if none).
func (s *Supervisor) heartbeat(ctx context.Context) (time.Time, error) {
	ws, err := s.client.Workers(ctx)
	if err != nil {
		return time.Time{}, err
	}
	for _, w := range ws {
		if w.ID == WorkerID {
			return w.LastHeartbeatAt, nil
		}
	}
	return time.Time{}, nil
}

// supervise restarts role's child whenever it exits, until the Supervisor stops.
func (s *Supervisor) supervise(role string) {
	defer s.wg.Done()
	backoff := minBackoff
	quick := 0
	for {
		c := s.current(role)
		select {
		case <-c.done:
		case <-s.ctx.Done():
			return
		}
		if s.ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		requested := s.restartReq[role]
		delete(s.restartReq, role)
		s.mu.Unlock()
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
		tail := s.logs[role].tail(c.logFrom)
		if quick >= maxQuickCrashes {
			s.fail(fmt.Errorf("dagu %s died %d times in a row soon after starting; last: %v%s", role, quick, c.err, tail))
			return
		}
		if !requested {
			s.logger.Warn("dagu child died; restarting", "child", role, "pid", c.pid, "exit", fmt.Sprint(c.err),
				"ran", ran.Round(time.Millisecond), "restart_in", delay, "log", tail)
		}
		select {
		case <-time.After(delay):
		case <-s.ctx.Done():
			return
		}
		s.respawn(role)
	}
}

// respawn starts role's child again and checks that it came back in working order.
func (s *Supervisor) respawn(role string) {
	if role == roleAPI {
		// The dead start-all's scheduler lock would hold the queue for ~25 s.
		resetScheduler(s.paths)
	}
	c, err := s.spawn(role)
	if err != nil {
		s.logger.Error("dagu child could not be started", "child", role, "err", err)
		s.mu.Lock()
		s.children[role] = exitedChild(role, err)
		s.mu.Unlock()
		return
	}
	if role == roleWorker {
		ctx, cancel := context.WithTimeout(s.ctx, registerWait)
		err := s.waitHeartbeat(ctx, c.started.Truncate(time.Second), c)
		cancel()
		if err != nil {
			if s.ctx.Err() == nil && !c.exited() {
				s.logger.Warn("dagu worker restarted but has not registered yet", "pid", c.pid, "err", err)
			}
			return
		}
		s.logger.Info("dagu worker restarted and registered", "pid", c.pid, "took", time.Since(c.started).Round(time.Millisecond))
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, healthWait)
	err = s.waitHealthy(ctx, c)
	cancel()
	if err != nil {
		if s.ctx.Err() == nil && !c.exited() {
			s.logger.Error("dagu start-all restarted but is not healthy; killing it", "pid", c.pid, "err", err)
			c.stop(syscall.SIGKILL, 5*time.Second)
		}
		return
	}
	s.logger.Info("dagu start-all restarted", "pid", c.pid, "took", time.Since(c.started).Round(time.Millisecond))
	// The worker must find the new coordinator (dagu.md: one of three workers did not
	// re-register until restarted).
	w := s.current(roleWorker)
	if w == nil || w.exited() {
		return // its own loop restarts it and checks it
	}
	ctx, cancel = context.WithTimeout(s.ctx, registerWait)
	err = s.waitHeartbeat(ctx, time.Time{}, w)
	cancel()
	if err != nil && s.ctx.Err() == nil {
		s.restartWorker("it did not re-register after start-all restarted: " + err.Error())
	}
}

// restartWorker stops the worker so that its supervision loop starts a new one at once. Its
// running agents are not affected: they are separate processes that outlive the worker.
func (s *Supervisor) restartWorker(reason string) {
	w := s.current(roleWorker)
	if w == nil || w.exited() {
		return
	}
	s.mu.Lock()
	s.restartReq[roleWorker] = true
	s.mu.Unlock()
	s.logger.Warn("restarting dagu worker", "pid", w.pid, "reason", reason)
	w.signal(syscall.SIGTERM)
	w.signal(syscall.SIGCONT) // a stopped process acts on SIGTERM only once continued
	w.await(10 * time.Second)
}

// watch rotates the children's logs, kills a start-all whose API stopped answering (its
// process can outlive its HTTP server) and restarts a worker that stopped beating.
func (s *Supervisor) watch() {
	defer s.wg.Done()
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	failures := 0
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
		for _, l := range s.logs {
			l.rotate()
		}
		api, w := s.current(roleAPI), s.current(roleWorker)
		if !api.exited() && time.Since(api.started) > healthWait {
			ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
			err := s.client.Health(ctx)
			cancel()
			if err == nil || s.ctx.Err() != nil {
				failures = 0
			} else {
				failures++
			}
			if failures >= maxHealthFailures && s.current(roleAPI) == api {
				// SIGKILL, not SIGTERM: runs executing inside start-all survive it.
				s.logger.Error("dagu API stopped answering; killing start-all to restart it", "pid", api.pid, "err", err,
					"log", s.logs[roleAPI].tail(api.logFrom))
				api.stop(syscall.SIGKILL, 5*time.Second)
				failures = 0
				continue
			}
		}
		if api.exited() || w.exited() || time.Since(api.started) < staleHeartbeat || time.Since(w.started) < staleHeartbeat {
			continue
		}
		ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
		hb, err := s.heartbeat(ctx)
		cancel()
		if err == nil && time.Since(hb) > staleHeartbeat && s.current(roleWorker) == w {
			s.restartWorker(fmt.Sprintf("no heartbeat since %v", hb))
		}
	}
}

// fail gives up supervision: everything is stopped without draining and Done closes.
func (s *Supervisor) fail(err error) {
	s.quitOnce.Do(func() {
		s.logger.Error("dagu runner gave up", "err", err)
		s.failErr = err
		s.stopping.Store(true)
		s.cancel()
		go func() {
			s.wg.Wait()
			s.teardown()
			s.release()
			close(s.done)
		}()
	})
}

// Stop drains and stops the runner. New enqueues are refused at once (ErrStopping) and the
// worker stops taking runs from the queue (runs still queued stay queued, on disk, for the
// next Start); Stop then waits until every run that had started has finished — its agent
// and step processes gone — or ctx ends, stops start-all, and terminates whatever is left
// (SIGTERM, then SIGKILL), so that no process of this Home outlives Stop. It returns ctx's
// error, with what was still running, when the drain was cut short. Calling Stop again
// returns the first call's result.
func (s *Supervisor) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}

func (s *Supervisor) stop(ctx context.Context) error {
	first := false
	s.quitOnce.Do(func() {
		first = true
		s.stopping.Store(true)
		s.cancel()
	})
	if !first { // supervision gave up earlier and is tearing down on its own
		<-s.done
		return fmt.Errorf("stop dagu runner: it had already given up: %w", s.failErr)
	}
	s.wg.Wait()
	err := s.drain(ctx)
	s.release()
	close(s.done)
	return err
}

func (s *Supervisor) drain(ctx context.Context) error {
	begin := time.Now()
	api, w := s.current(roleAPI), s.current(roleWorker)
	s.logger.InfoContext(ctx, "draining dagu runner")
	keep := map[int]bool{}
	for _, c := range []*child{api, w} {
		if c != nil && !c.exited() {
			keep[c.pid] = true
		}
	}
	// A worker on SIGTERM stops polling and exits within ~1.5 s; the agents it started are
	// separate processes and carry on. start-all stays up meanwhile so that the API answers
	// and runs can record their end: its SIGTERM would SIGKILL agents running inside it (runs
	// without a worker selector, step retries) and orphan their steps.
	if w != nil {
		w.signal(syscall.SIGTERM)
	}
	var drainErr error
	if err := waitNone(ctx, s.paths.marker(), keep); err != nil {
		var busy []int
		for _, p := range ownedProcs(s.paths.marker()) {
			if !keep[p] {
				busy = append(busy, p)
			}
		}
		drainErr = fmt.Errorf("drain dagu runner: %w; terminating %d processes still running: %s",
			err, len(busy), strings.Join(describe(busy), "; "))
	}
	if api != nil {
		api.signal(syscall.SIGTERM)
	}
	for _, c := range []*child{w, api} {
		if c != nil {
			c.await(10 * time.Second)
		}
	}
	if pids := terminate(s.paths.marker(), nil, 3*time.Second); len(pids) > 0 {
		s.logger.Warn("terminated dagu processes left after drain", "processes", pids)
	}
	s.logger.Info("dagu runner stopped", "took", time.Since(begin).Round(time.Millisecond), "err", drainErr)
	return drainErr
}

// teardown stops everything at once, without draining (failed Start, given-up supervision).
func (s *Supervisor) teardown() {
	terminate(s.paths.marker(), nil, 3*time.Second)
	s.mu.Lock()
	children := make([]*child, 0, len(s.children))
	for _, c := range s.children {
		children = append(children, c)
	}
	s.mu.Unlock()
	for _, c := range children {
		c.stop(syscall.SIGKILL, 5*time.Second)
	}
}

// release frees what the Supervisor holds in this process; the children must be gone.
func (s *Supervisor) release() {
	_ = os.Remove(s.paths.pidFile())
	for _, l := range s.logs {
		l.close()
	}
	_ = s.lock.Close()
}
