package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vindex/vindex/internal/dirlock"
)

// Layout of a runner Home (Options.Home, which is also DAGU_HOME):
//
//	config.yaml        Dagu's configuration, rewritten at every Start (holds the token: 0600)
//	base.yaml          defaults merged into every DAG: the worker selector, the step env file
//	step.env           Options.Env for steps, dotenv format (0600; absent when Env is empty)
//	runner.lock        flock held by the owning Supervisor
//	run/children.json  pids of the current children, for operators and for the next Start
//	logs/start-all.log, logs/worker.log   the children's output, capped (see logFile)
//	logs/dags/, logs/admin/   Dagu's own run logs
//	dags/ data/ tmp/   Dagu's DAG dir (unused: specs are inline), state, and TMPDIR
//
// A Worker's Home has the same layout without start-all's parts (its data/ is unused: run
// state lives in the coordinator's data directory, WorkerOptions.DataDir), plus
//
//	registry/coordinator/vindex.json   the coordinator's address for the worker (registry.go)

type homePaths struct {
	home string
}

func (h homePaths) join(elem ...string) string {
	return filepath.Join(append([]string{h.home}, elem...)...)
}

func (h homePaths) config() string    { return h.join("config.yaml") }
func (h homePaths) base() string      { return h.join("base.yaml") }
func (h homePaths) stepEnv() string   { return h.join("step.env") }
func (h homePaths) pidFile() string   { return h.join("run", "children.json") }
func (h homePaths) logs() string      { return h.join("logs") }
func (h homePaths) data() string      { return h.join("data") }
func (h homePaths) tmp() string       { return h.join("tmp") }
func (h homePaths) schedLock() string { return h.join("data", "scheduler", "locks", ".dagu_lock") }
func (h homePaths) registry() string  { return h.join("data", "service-registry") }

// workerRegistry is a Worker's own service registry (its data dir is the coordinator's).
func (h homePaths) workerRegistry() string { return h.join("registry") }

// marker is the environment entry that every process of this Home carries (see proc.go).
func (h homePaths) marker() string { return "DAGU_HOME=" + h.home }

// ErrInUse is returned by Start when another Supervisor, in this process or another, holds
// the Home: two runners on one Dagu data directory would fight over its scheduler lock.
var ErrInUse = errors.New("runner home is in use")

// prepareHome creates the Home and its directories and returns its resolved absolute path:
// /proc shows real paths, and the marker must match what children see.
func prepareHome(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", err
	}
	home, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", err
	}
	h := homePaths{home}
	for _, d := range []string{"run", "logs", "tmp", "dags", "data"} {
		if err := os.MkdirAll(h.join(d), 0o700); err != nil {
			return "", err
		}
	}
	return home, nil
}

// lockHome takes the exclusive lock on Home/runner.lock (see dirlock).
func lockHome(h homePaths) (*os.File, error) {
	f, err := dirlock.Acquire(h.join("runner.lock"))
	if errors.Is(err, dirlock.ErrHeld) {
		return nil, fmt.Errorf("%w: %w", ErrInUse, err)
	}
	return f, err
}

// cleanupStale removes what a previous owner of the Home left behind when it died without
// Stop: its processes (agents and steps survive their dead parents), Dagu's scheduler lock
// (a directory that Dagu 1.30 leaves even on a clean exit and that a new start-all only
// takes over after 25–30 s of "Waiting to acquire scheduler lock", during which the queue
// does not move) and service-registry entries that point at dead processes. The caller holds
// the Home's flock, so no live runner uses any of it.
func cleanupStale(h homePaths, logger *slog.Logger) {
	if b, err := os.ReadFile(h.pidFile()); err == nil {
		logger.Info("previous runner children recorded", "pid_file", h.pidFile(), "pids", strings.TrimSpace(string(b)))
	}
	if pids := terminate(h.marker(), nil, 5*time.Second); len(pids) > 0 {
		logger.Warn("stopped dagu processes left by a previous runner on this home", "home", h.home, "processes", pids)
	}
	_ = os.Remove(h.pidFile())
	_ = os.RemoveAll(filepath.Join(h.tmp(), "dagu")) // the worker's spec copies of dead runs
	resetScheduler(h)
	cleanupSockets(logger)
}

// resetScheduler drops the scheduler lock and registry entries of dead processes; called
// before every start of start-all, once the previous one is known to be dead.
func resetScheduler(h homePaths) {
	_ = os.RemoveAll(h.schedLock())
	files, _ := filepath.Glob(filepath.Join(h.registry(), "*", "*.json"))
	for _, f := range files {
		var entry struct {
			PID int `json:"pid"`
		}
		b, err := os.ReadFile(f)
		if err != nil || json.Unmarshal(b, &entry) != nil || entry.PID <= 0 || !alive(entry.PID) {
			_ = os.Remove(f)
		}
	}
}

// cleanupSockets removes agent sockets (/tmp/@dagu_<dag>_<hash>.sock, named after the DAG
// name and run id, not the Home, and not configurable in 1.30) that nothing listens on any
// more: agents killed with SIGKILL leave them. Dagu replaces a stale socket itself when the
// same run id is retried, so this is tidiness, not correctness; it spares sockets younger
// than a minute (an agent between bind and listen) and other users' sockets.
func cleanupSockets(logger *slog.Logger) {
	socks, _ := filepath.Glob("/tmp/@dagu_*.sock")
	removed := 0
	for _, s := range socks {
		fi, err := os.Lstat(s)
		if err != nil || fi.Mode()&os.ModeSocket == 0 || time.Since(fi.ModTime()) < time.Minute {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
			continue
		}
		conn, err := net.DialTimeout("unix", s, 200*time.Millisecond)
		if err == nil {
			_ = conn.Close()
			continue
		}
		if errors.Is(err, syscall.ECONNREFUSED) && os.Remove(s) == nil {
			removed++
		}
	}
	if removed > 0 {
		logger.Info("removed stale dagu agent sockets", "count", removed)
	}
}

// writePidFile records the current children's pids.
func writePidFile(h homePaths, pids map[string]int) {
	b, _ := json.Marshal(map[string]any{"owner": os.Getpid(), "children": pids})
	tmp := h.pidFile() + ".tmp"
	if os.WriteFile(tmp, append(b, '\n'), 0o600) == nil {
		_ = os.Rename(tmp, h.pidFile())
	}
}

// freePort asks the kernel for a free loopback port. Another process can take it before
// Dagu binds it; Start retries with new ports when that happens.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
