package pgcluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vindex/vindex/internal/dirlock"
)

// ErrInUse is returned by Start and Remove when another Cluster, in this process or another,
// holds the directory. Start fails fast instead of waiting because two vindex servers on one
// data dir is a configuration mistake, not a queue.
var ErrInUse = errors.New("cluster directory is in use")

// lockDir takes the exclusive lock on dir/lock (see dirlock).
func lockDir(dir string) (*os.File, error) {
	f, err := dirlock.Acquire(filepath.Join(dir, "lock"))
	if errors.Is(err, dirlock.ErrHeld) {
		return nil, fmt.Errorf("%w: %w", ErrInUse, err)
	}
	return f, err
}
