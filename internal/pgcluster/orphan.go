package pgcluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"syscall"
	"time"
)

// stopOrphan stops a postmaster still running on dataDir although nobody holds the cluster
// lock: its owner died (kill -9, or a system without parent-death signals) and the server is
// either already in the fast shutdown the parent-death signal started or was never told.
// Escalating to immediate shutdown and then SIGKILL is safe: both are crash-consistent and the
// next start replays the WAL. A pid file whose process is gone, or is not a postmaster of this
// directory, is left for PostgreSQL, which treats it as stale.
func stopOrphan(ctx context.Context, dataDir string, logger *slog.Logger) error {
	pf, ok, err := readPidFile(dataDir)
	if err != nil || !ok {
		return err
	}
	if !isPostmasterOf(pf.pid, dataDir) {
		return stopOrphanChildren(ctx, dataDir, logger)
	}
	logger.WarnContext(ctx, "stopping postgres left running by a previous owner", "pid", pf.pid, "status", pf.status)
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{
		{syscall.SIGINT, 30 * time.Second},
		{syscall.SIGQUIT, 10 * time.Second},
		{syscall.SIGKILL, 10 * time.Second},
	}
	for _, s := range steps {
		if err := syscall.Kill(pf.pid, s.sig); err != nil && isPostmasterOf(pf.pid, dataDir) {
			return fmt.Errorf("signal postgres pid %d: %w", pf.pid, err)
		}
		if err := waitGone(ctx, pf.pid, dataDir, s.wait); err != nil {
			return err
		}
		if !isPostmasterOf(pf.pid, dataDir) {
			return stopOrphanChildren(ctx, dataDir, logger)
		}
	}
	return fmt.Errorf("postgres pid %d on %s did not exit", pf.pid, dataDir)
}

// stopOrphanChildren waits for the backends of a dead postmaster to exit: they notice its
// death only at their next check and hold its shared memory until then, and PostgreSQL
// refuses to start while that block is in use. Those still there after a moment are killed,
// which is safe with their postmaster gone (the next start replays the WAL).
func stopOrphanChildren(ctx context.Context, dataDir string, logger *slog.Logger) error {
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		pids := processesIn(dataDir)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			logger.WarnContext(ctx, "killing backends left by a dead postgres", "pids", pids)
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			deadline = time.Now().Add(10 * time.Second)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for backends of a dead postgres to exit: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// processesIn lists the live processes whose working directory is dir.
func processesIn(dir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if runsIn(pid, dir) && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitGone polls until pid has exited, ctx ends or d passes (the last is not an error).
func waitGone(ctx context.Context, pid int, dataDir string, d time.Duration) error {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for isPostmasterOf(pid, dataDir) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for previous postgres pid %d to exit: %w", pid, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}
