package pgcluster

import (
	"context"
	"fmt"
	"log/slog"
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
	if err != nil || !ok || !isPostmasterOf(pf.pid, dataDir) {
		return err
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
			return nil
		}
	}
	return fmt.Errorf("postgres pid %d on %s did not exit", pf.pid, dataDir)
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
