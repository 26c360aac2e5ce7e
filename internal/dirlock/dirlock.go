// Package dirlock gives a process exclusive ownership of a directory (a
// managed PostgreSQL cluster, a runner home) through an flock on a file in
// it. The kernel drops the lock when the process dies, so a kill -9'd owner
// never blocks the next one.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ErrHeld is returned when another process (or another owner in this one)
// holds the lock.
var ErrHeld = errors.New("held by another owner")

// Acquire takes the exclusive lock on path without waiting. Our pid goes in
// the file only to make the next ErrHeld message useful; close the file to
// release the lock.
func Acquire(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			owner := "another owner"
			if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
				owner = "pid " + strings.TrimSpace(string(b))
			}
			return nil, fmt.Errorf("%w: %s is held by %s", ErrHeld, path, owner)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
