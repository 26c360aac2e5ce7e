package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// WorkerOptions configures StartWorker.
type WorkerOptions struct {
	// Bin is the dagu binary (1.30.x); "" looks up "dagu" on PATH.
	Bin string
	// Home is this worker's own DAGU_HOME: its configuration, step environment, logs and
	// TMPDIR. Local to this machine and not shared; created if missing; one Worker (or
	// Supervisor) at a time (ErrInUse).
	Home string
	// Coordinator is the coordinator's gRPC address, host:port: a Supervisor's
	// CoordinatorAddr (vindex serve: VINDEX_DAGU_COORDINATOR_ADDR), or any Dagu 1.30
	// coordinator's.
	Coordinator string
	// DataDir is the coordinator's Dagu data directory (a Supervisor's is <Home>/data) as
	// this machine sees it, on a shared filesystem: a Dagu 1.30 worker reads a run's record
	// from it and writes the run's status there, and has no other channel for either. The
	// run's logs go to the coordinator's log directory, by the absolute path it recorded, so
	// mount the coordinator's whole Home at the same path here.
	DataDir string
	// ID names the worker (Run.WorkerID, GET /api/v2/workers); default the host name. It
	// must differ from every other worker's and from WorkerID.
	ID string
	// MaxActiveRuns is how many runs this worker executes at once; default 4.
	MaxActiveRuns int
	// TLS, if set, connects with mutual TLS (the coordinator must have it too); nil is
	// plaintext h2c.
	TLS *PeerTLS
	// Env is the environment (KEY=VALUE) for steps run here, as for Options.Env: it
	// reaches them through <Home>/step.env, whatever the coordinator's steps get.
	Env []string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Worker runs one supervised `dagu worker` (label WorkerLabelKey=WorkerLabelValue) that
// executes runs for a coordinator elsewhere. See the package documentation.
type Worker struct {
	*group
	opts WorkerOptions
	host string
	port int
	// published: the coordinator's registry entry is in place (see watch).
	published atomic.Bool
}

const (
	// workerWatchEvery is how often a Worker reads its child's log for connection errors: a
	// worker that cannot talk to a coordinator it knows of retries without pause and logs
	// up to ~15 MB/s (see the registry entry below). Coordinator probes while it is
	// withdrawn happen every probeEvery, and the entry is refreshed every touchEvery.
	workerWatchEvery = 100 * time.Millisecond
	probeEvery       = 500 * time.Millisecond
	touchEvery       = time.Second
	// connectSettle is how long a fresh worker must go without a connection error before it
	// counts as connected (it sends a heartbeat at once and then every second).
	connectSettle = 1500 * time.Millisecond
	// After a connection error while the coordinator accepts TCP connections (TLS mismatch,
	// not a coordinator), it is withdrawn for a while, doubling up to maxWithdraw.
	minWithdraw = time.Second
	maxWithdraw = 30 * time.Second
)

// workerIDPattern: host names, and what Dagu and a file name can carry.
var workerIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// connectFailures are what a worker logs when it cannot talk to its coordinator.
var connectFailures = []string{"Failed to check coordinator health", "Heartbeat send failed"}

// StartWorker stops anything a crashed previous owner left running on Home, writes Home's
// configuration, waits until the coordinator accepts connections, starts the worker and
// returns once it has been connected for a moment without errors. ctx bounds the start-up
// only (60 s when it has no deadline); the worker runs until Stop.
//
// Whether the worker has registered is seen only by the coordinator (GET /api/v2/workers on
// its API): Dagu 1.30's worker logs failures but not success.
func StartWorker(ctx context.Context, opts WorkerOptions) (*Worker, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}
	w, err := newWorker(opts)
	if err != nil {
		return nil, fmt.Errorf("start dagu worker: %w", err)
	}
	if err := w.start(ctx); err != nil {
		w.cancel()
		w.teardown()
		w.release()
		return nil, fmt.Errorf("start dagu worker in %s: %w", w.paths.home, err)
	}
	return w, nil
}

func newWorker(opts WorkerOptions) (*Worker, error) {
	if opts.Home == "" {
		return nil, fmt.Errorf("%w: WorkerOptions.Home is empty", ErrInvalid)
	}
	host, port, err := splitHostPort(opts.Coordinator, false)
	if err != nil {
		return nil, fmt.Errorf("%w: coordinator: %v", ErrInvalid, err)
	}
	if opts.DataDir == "" {
		return nil, fmt.Errorf("%w: WorkerOptions.DataDir is empty: Dagu 1.30 workers need the coordinator's data directory", ErrInvalid)
	}
	if opts.DataDir, err = filepath.Abs(opts.DataDir); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(opts.DataDir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%w: the coordinator's data directory %s is not a directory here (is the share mounted?): %v", ErrInvalid, opts.DataDir, err)
	}
	if opts.ID == "" {
		opts.ID = DefaultWorkerID()
	}
	if !workerIDPattern.MatchString(opts.ID) || opts.ID == WorkerID {
		return nil, fmt.Errorf("%w: worker id %q must match %s and not be %q", ErrInvalid, opts.ID, workerIDPattern, WorkerID)
	}
	if opts.MaxActiveRuns <= 0 {
		opts.MaxActiveRuns = 4
	}
	if err := opts.TLS.check(); err != nil {
		return nil, err
	}
	if err := checkEnv(opts.Env); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	g, err := newGroup("dagu worker", opts.Bin, opts.Home, []string{roleWorker},
		opts.Logger.With("component", "dagu-worker", "worker_id", opts.ID))
	if err != nil {
		return nil, err
	}
	w := &Worker{group: g, opts: opts, host: host, port: port}
	g.args, g.respawn = w.args, w.respawn
	return w, nil
}

// DefaultWorkerID is the host name, made fit for a worker id.
func DefaultWorkerID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "worker"
	}
	id := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, h)
	id = strings.TrimLeft(id, "._-")
	if len(id) > 63 {
		id = id[:63]
	}
	if id == "" || id == WorkerID {
		return "worker"
	}
	return id
}

func (w *Worker) start(ctx context.Context) error {
	begin := time.Now()
	w.checkVersion(ctx)
	cleanupStale(w.paths, w.logger)
	if err := writeBase(w.paths, w.opts.Env); err != nil {
		return fmt.Errorf("write base.yaml: %w", err)
	}
	if err := writeWorkerConfig(w.paths, w.opts); err != nil {
		return fmt.Errorf("write config.yaml: %w", err)
	}
	_ = os.RemoveAll(w.paths.workerRegistry())
	if err := os.MkdirAll(filepath.Join(w.paths.workerRegistry(), "coordinator"), 0o700); err != nil {
		return err
	}
	if err := w.waitReachable(ctx); err != nil {
		return err
	}
	if err := w.publish(); err != nil {
		return fmt.Errorf("write the coordinator's registry entry: %w", err)
	}
	w.published.Store(true)
	c, err := w.spawn(roleWorker)
	if err != nil {
		return err
	}
	if err := w.waitConnected(ctx, c); err != nil {
		return err
	}
	w.wg.Add(2)
	go w.supervise(roleWorker)
	go w.watch()
	w.logger.InfoContext(ctx, "dagu worker ready", "coordinator", w.opts.Coordinator, "home", w.paths.home,
		"data_dir", w.opts.DataDir, "max_active_runs", w.opts.MaxActiveRuns, "tls", w.opts.TLS != nil,
		"took", time.Since(begin).Round(time.Millisecond))
	return nil
}

// ID is the worker's id, as Run.WorkerID shows it.
func (w *Worker) ID() string { return w.opts.ID }

// Done is closed when the worker has stopped: after Stop, or when supervision gave up
// because the dagu worker kept dying (then Err says why).
func (w *Worker) Done() <-chan struct{} { return w.group.Done() }

// Err returns why supervision gave up, or nil.
func (w *Worker) Err() error { return w.group.Err() }

// Stop drains and stops the worker: it stops taking runs at once, then Stop waits until
// every run it had started has finished — agents and steps gone — or ctx ends, and
// terminates whatever is left, so that no process of this Home outlives Stop. Runs cut
// short stay "running" in Dagu until its zombie check fails them (~45 s); vindex's
// reconciler then starts new attempts. Calling Stop again returns the first call's result.
func (w *Worker) Stop(ctx context.Context) error {
	return w.stop(ctx, func(ctx context.Context) error {
		err := w.drain(ctx, w.current(roleWorker), nil)
		w.withdraw()
		return err
	})
}

func (w *Worker) args(string) []string {
	return []string{"worker", "--config", w.paths.config(),
		"--worker.id", w.opts.ID,
		"--worker.labels", WorkerLabelKey + "=" + WorkerLabelValue,
		"--worker.max-active-runs", strconv.Itoa(w.opts.MaxActiveRuns)}
}

func (w *Worker) respawn(role string) {
	c, err := w.spawn(role)
	if err != nil {
		w.logger.Error("dagu worker could not be started", "err", err)
		w.mu.Lock()
		w.children[role] = exitedChild(role, err)
		w.mu.Unlock()
		return
	}
	if !w.published.Load() {
		return // it cannot connect before watch publishes the coordinator again
	}
	ctx, cancel := context.WithTimeout(w.ctx, registerWait)
	err = w.waitConnected(ctx, c)
	cancel()
	if err != nil {
		if w.ctx.Err() == nil && !c.exited() {
			w.logger.Warn("dagu worker restarted but is not connected", "pid", c.pid, "err", err)
		}
		return
	}
	w.logger.Info("dagu worker restarted", "pid", c.pid)
}

// waitConnected waits until c has run connectSettle without logging a connection error,
// and fails if it logs one, exits, or ctx ends first.
func (w *Worker) waitConnected(ctx context.Context, c *child) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	l := w.logs[roleWorker]
	for {
		if failure, _ := w.connectFailure(c.logFrom); failure != "" {
			return fmt.Errorf("dagu worker cannot talk to the coordinator at %s (%q: wrong address, or TLS on one side only?)%s",
				w.opts.Coordinator, failure, l.tail(c.logFrom))
		}
		if time.Since(c.started) >= connectSettle {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("dagu worker exited: %v%s", c.err, l.tail(c.logFrom))
		case <-ctx.Done():
			return fmt.Errorf("dagu worker not connected: %w%s", ctx.Err(), l.tail(c.logFrom))
		case <-tick.C:
		}
	}
}

// connectFailure returns the first connection error the worker logged since offset from
// (or ""), and the offset it read up to.
func (w *Worker) connectFailure(from int64) (string, int64) {
	return w.logs[roleWorker].containsAny(from, connectFailures)
}

// waitReachable waits until the coordinator accepts TCP connections, or ctx ends.
func (w *Worker) waitReachable(ctx context.Context) error {
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	for {
		err := w.dial(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the coordinator at %s is not reachable: %w (last: %v)", w.opts.Coordinator, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func (w *Worker) dial(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(w.host, strconv.Itoa(w.port)))
	if err != nil {
		return err
	}
	return conn.Close()
}

// The coordinator's registry entry.
//
// A Dagu 1.30 worker has no setting for its coordinator's address: it looks coordinators up
// in a file service registry (paths.serviceRegistryDir/coordinator/*.json, {id, host, port,
// ...}), where a coordinator announces itself and refreshes its file's mtime; entries whose
// mtime is 30 s old are dropped. A Worker therefore gives its dagu worker a registry of its
// own holding one entry for WorkerOptions.Coordinator, whose mtime watch refreshes. It
// also withdraws the entry as soon as the worker logs that it cannot talk to the
// coordinator, and restarts the worker (which caches the coordinators it knows for 3 s): a
// worker that knows a coordinator it cannot reach retries without any pause (up to ~65,000
// log lines a second), while one that knows none backs off. Once the coordinator accepts
// connections again the entry comes back and the worker is restarted once more, so that it
// registers at once instead of after its backoff.

func (w *Worker) entryPath() string {
	return filepath.Join(w.paths.workerRegistry(), "coordinator", "vindex.json")
}

func (w *Worker) publish() error {
	b, err := json.Marshal(map[string]any{
		"id":        "vindex-" + w.host + "-" + strconv.Itoa(w.port),
		"host":      w.host,
		"port":      w.port,
		"pid":       os.Getpid(),
		"status":    1, // active
		"startedAt": time.Now().UTC().Format(time.RFC3339Nano),
	})
	if err != nil {
		return err
	}
	return writeFile(w.entryPath(), string(b)+"\n")
}

// touch refreshes the entry's mtime, writing it again if it is gone.
func (w *Worker) touch() {
	now := time.Now()
	if err := os.Chtimes(w.entryPath(), now, now); errors.Is(err, os.ErrNotExist) {
		if err := w.publish(); err != nil {
			w.logger.Error("rewrite the coordinator's registry entry", "err", err)
		}
	}
}

func (w *Worker) withdraw() {
	_ = os.Remove(w.entryPath())
}

// watch keeps the registry entry fresh while the worker talks to the coordinator, withdraws
// it as soon as the worker logs that it cannot, publishes it again once the coordinator
// accepts connections (after a pause if it did all along: TLS mismatch, not a coordinator),
// and rotates the log.
func (w *Worker) watch() {
	defer w.wg.Done()
	tick := time.NewTicker(workerWatchEvery)
	defer tick.Stop()
	l := w.logs[roleWorker]
	from := l.offset()
	publishedAt, touched := time.Now(), time.Now()
	var retryAt, probed time.Time
	pause := minWithdraw
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-tick.C:
		}
		l.rotate()
		now := time.Now()
		if w.published.Load() {
			var failure string
			if failure, from = w.connectFailure(from); failure == "" {
				if now.Sub(touched) >= touchEvery {
					w.touch()
					touched = now
				}
				if now.Sub(publishedAt) > stableAfter {
					pause = minWithdraw
				}
				continue
			}
			w.withdraw()
			w.published.Store(false)
			reason := fmt.Sprintf("the worker logged %q", failure)
			if err := w.dial(w.ctx); err != nil {
				reason += fmt.Sprint("; unreachable: ", err)
			} else {
				retryAt = now.Add(pause)
				reason += fmt.Sprintf(" though it accepts connections; trying again in %v", pause)
				pause = min(pause*2, maxWithdraw)
			}
			w.logger.Warn("lost the coordinator; the worker takes no runs until it is back", "coordinator", w.opts.Coordinator,
				"reason", reason, "log", l.tail(max(0, l.offset()-2048)))
			// It caches the coordinators it knows for 3 s: a new one backs off at once.
			w.restart(roleWorker, "forget the coordinator it cannot talk to")
			from = l.offset()
			continue
		}
		if now.Before(retryAt) || now.Sub(probed) < probeEvery {
			continue
		}
		probed = now
		if w.dial(w.ctx) != nil {
			continue
		}
		if err := w.publish(); err != nil {
			w.logger.Error("write the coordinator's registry entry", "err", err)
			continue
		}
		w.published.Store(true)
		publishedAt, touched = time.Now(), time.Now()
		w.logger.Info("coordinator reachable again", "coordinator", w.opts.Coordinator)
		w.restart(roleWorker, "reconnect to the coordinator at once")
		from = l.offset()
	}
}
