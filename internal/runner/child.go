package runner

import (
	"fmt"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// child is one Dagu process started by spawn. done is closed once it has been reaped; err is
// Wait's result, readable after done.
type child struct {
	role    string
	pid     int
	started time.Time
	logFrom int64 // offset in the role's log file where this process's output begins
	done    chan struct{}
	err     error
}

// spawn starts cmd as a supervised child.
//
// Linux delivers the parent-death signal when the *thread* that forked the child exits, not
// the process (golang/go#27505), and the Go runtime retires threads at will. The goroutine
// that starts the child therefore stays locked to its thread until the child has been reaped,
// which ties that thread's life to the child's; it is also the child's owner, waiting on it.
//
// cmd's Stdout and Stderr must be *os.File (or nil): with any other writer, os/exec copies
// through a pipe and Wait blocks until every holder of the pipe exits — and agents started by
// the child inherit it and may outlive the child by hours.
func spawn(role string, cmd *exec.Cmd, logFrom int64) (*child, error) {
	cmd.SysProcAttr = sysProcAttr()
	c := &child{role: role, logFrom: logFrom, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(c.done)
		if err := cmd.Start(); err != nil {
			c.err = err
			started <- err
			return
		}
		c.pid = cmd.Process.Pid
		c.started = time.Now()
		started <- nil
		c.err = cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start dagu %s: %w", role, err)
	}
	return c, nil
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// signal ignores the error for a process that has already exited: that is what we wanted.
// The pid cannot have been reused before done is closed, because we have not reaped it.
func (c *child) signal(sig syscall.Signal) {
	if !c.exited() {
		_ = syscall.Kill(c.pid, sig)
	}
}

// stop sends sig and waits up to grace for the child to exit, then kills it.
func (c *child) stop(sig syscall.Signal, grace time.Duration) {
	c.signal(sig)
	c.await(grace)
}

// await waits up to grace for the child to exit, then kills it.
func (c *child) await(grace time.Duration) {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		c.signal(syscall.SIGKILL)
		<-c.done
	}
}

// exitedChild stands for a process that could not be started, so that the supervision loop
// treats a failed respawn like a crash (backoff, retry).
func exitedChild(role string, err error) *child {
	c := &child{role: role, started: time.Now(), done: make(chan struct{}), err: err}
	close(c.done)
	return c
}
