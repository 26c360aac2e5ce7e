package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
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
	// CoordinatorAddr is where the coordinator (gRPC) listens, host:port. Default
	// "127.0.0.1:0": loopback, on a free port, which is all the local worker needs. Workers
	// on other machines (StartWorker) need a host they can reach ("0.0.0.0" for every
	// interface) and a fixed port. Anyone who can reach it can take runs from the queue and
	// hand commands to workers unless TLS is set: firewall it.
	CoordinatorAddr string
	// TLS, if set, makes the coordinator require mutual TLS (the local worker and start-all's
	// dispatcher present the same certificate); nil is plaintext h2c.
	TLS *PeerTLS
	// Env is extra environment (KEY=VALUE) for steps, e.g. VINDEX_DATABASE_URL and the vindex
	// binary's path. Values arrive verbatim.
	Env []string
	// Logger defaults to slog.Default().
	Logger *slog.Logger

	// localLabel replaces WorkerLabelValue on the local worker (tests: a worker that runs
	// nothing of the ingest queue).
	localLabel string
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
	*group
	opts   Options
	client *Client
	coord  coordAddr

	apiPort int
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
	coord, err := parseListenAddr(opts.CoordinatorAddr)
	if err != nil {
		return nil, err
	}
	if err := opts.TLS.check(); err != nil {
		return nil, err
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
	if opts.localLabel == "" {
		opts.localLabel = WorkerLabelValue
	}
	g, err := newGroup("dagu runner", opts.Bin, opts.Home, []string{roleAPI, roleWorker}, opts.Logger.With("component", "dagu-runner"))
	if err != nil {
		return nil, err
	}
	s := &Supervisor{group: g, opts: opts, coord: coord}
	g.args, g.respawn = s.args, s.respawn
	g.exited = func(role string) {
		if role == roleAPI {
			// The dead coordinator's registry entry goes at once: a worker that knows a
			// coordinator it cannot reach retries without pause, logging megabytes a second,
			// while one that knows none backs off until start-all is back.
			resetScheduler(s.paths)
		}
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
		// Only a port we picked is worth picking again.
		msg := err.Error()
		coordTaken := strings.Contains(msg, "failed to initialize coordinator")
		retryable := strings.Contains(msg, "address already in use") &&
			(coordTaken && s.coord.picked || !coordTaken && s.opts.Port == 0)
		if !retryable || attempt == attempts || ctx.Err() != nil {
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
		"queue", s.opts.Queue, "max_concurrency", s.opts.MaxConcurrency, "coordinator", s.CoordinatorAddr(),
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
	if s.coord.port == 0 || s.coord.picked {
		if s.coord.port, err = freePort(); err != nil {
			return fmt.Errorf("pick coordinator port: %w", err)
		}
		s.coord.picked = true
	}
	if err := writeConfig(s.paths, s.opts, s.apiPort, s.coord); err != nil {
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

// CoordinatorAddr is the address (host:port) workers on other machines give StartWorker:
// Options.CoordinatorAddr with the port that was picked if it asked for 0. Its host is the
// address the coordinator listens on, or 127.0.0.1 when that is all interfaces.
func (s *Supervisor) CoordinatorAddr() string {
	return net.JoinHostPort(s.coord.advertise(), strconv.Itoa(s.coord.port))
}

// Done is closed when the runner has stopped: after Stop, or when supervision gave up
// because a child kept dying (then Err says why and the server should shut down rather than
// accept uploads it cannot process).
func (s *Supervisor) Done() <-chan struct{} { return s.group.Done() }

// Err returns why supervision gave up, or nil.
func (s *Supervisor) Err() error { return s.group.Err() }

// AgentRunning reports whether a Dagu agent process for run runID is alive on this machine
// (agents on workers elsewhere are not seen). After a crash Dagu keeps showing a run
// "running" for ~45 s (then "failed", with the step still "running"); this tells such a run
// from one that really is running, so that a reconciler can act at once.
func (s *Supervisor) AgentRunning(runID string) bool { return s.agentRunning(runID) }

func (s *Supervisor) args(role string) []string {
	cfg := s.paths.config()
	if role == roleAPI {
		return []string{"start-all", "--config", cfg}
	}
	return []string{"worker", "--config", cfg,
		"--worker.id", WorkerID,
		"--worker.labels", WorkerLabelKey + "=" + s.opts.localLabel,
		"--worker.max-active-runs", strconv.Itoa(s.opts.WorkerMaxActiveRuns)}
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
		s.restart(roleWorker, "it did not re-register after start-all restarted: "+err.Error())
	}
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
			s.restart(roleWorker, fmt.Sprintf("no heartbeat since %v", hb))
		}
	}
}

// Stop drains and stops the runner. New enqueues are refused at once (ErrStopping) and the
// worker stops taking runs from the queue (runs still queued stay queued, on disk, for the
// next Start); Stop then waits until every run that had started has finished — its agent
// and step processes gone — or ctx ends, stops start-all, and terminates whatever is left
// (SIGTERM, then SIGKILL), so that no process of this Home outlives Stop. It returns ctx's
// error, with what was still running, when the drain was cut short. Calling Stop again
// returns the first call's result.
//
// Runs on Workers elsewhere are not waited for: they carry on, writing their status to the
// shared data directory, where the next Start finds it.
func (s *Supervisor) Stop(ctx context.Context) error {
	// The worker goes first and start-all last: start-all stays up meanwhile so that the API
	// answers and runs can record their end, because its SIGTERM would SIGKILL agents running
	// inside it (runs without a worker selector, step retries) and orphan their steps.
	return s.stop(ctx, func(ctx context.Context) error {
		return s.drain(ctx, s.current(roleWorker), s.current(roleAPI))
	})
}
