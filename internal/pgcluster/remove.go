package pgcluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// Remove deletes the cluster home dir, first stopping a server that a dead owner left running
// in it. It returns an error wrapping ErrInUse if a live Cluster holds the directory. It lets
// throwaway clusters (testdb's) be cleaned up after their owner was killed.
func Remove(ctx context.Context, dir string) error {
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("remove postgres cluster: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return fmt.Errorf("remove postgres cluster: %w", err)
	}
	defer func() { _ = lock.Close() }()
	if err := stopOrphan(ctx, filepath.Join(dir, "data"), slog.Default()); err != nil {
		return fmt.Errorf("remove postgres cluster in %s: %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove postgres cluster: %w", err)
	}
	return nil
}
