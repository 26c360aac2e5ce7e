package pgcluster

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
)

// Done is closed when the server process has exited, whether through Stop or not; a
// server can watch it to shut down instead of failing every request.
func (c *Cluster) Done() <-chan struct{} {
	return c.proc.done
}

// Stop shuts the server down (fast shutdown: sessions are disconnected, a checkpoint is
// written) and waits for it to exit. If ctx ends first it falls back to an immediate
// shutdown, which is crash-safe, and returns ctx's error. Calling Stop again returns the
// first call's result.
func (c *Cluster) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() {
		defer c.release()
		if c.proc.exited() {
			c.stopErr = fmt.Errorf("stop postgres: it had already exited: %v%s", c.proc.err, logTail(c.logPath, 0))
			return
		}
		c.logger.InfoContext(ctx, "stopping postgres")
		c.proc.signal(syscall.SIGINT)
		select {
		case <-c.proc.done:
		case <-ctx.Done():
			c.kill()
			c.stopErr = fmt.Errorf("stop postgres: %w", ctx.Err())
		}
	})
	return c.stopErr
}

// kill stops the server immediately: SIGQUIT, then SIGKILL if it lingers.
func (c *Cluster) kill() {
	c.proc.signal(syscall.SIGQUIT)
	select {
	case <-c.proc.done:
	case <-time.After(10 * time.Second):
		c.proc.signal(syscall.SIGKILL)
		<-c.proc.done
	}
}

// release frees what the cluster holds in this process; the server must have exited.
func (c *Cluster) release() {
	if c.tempSocketDir {
		_ = os.RemoveAll(c.socketDir)
	}
	if c.log != nil {
		_ = c.log.Close()
	}
	_ = c.lock.Close()
}
