package pgcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// process is a child started by spawn; done is closed once it has been reaped, and err is
// Wait's result, readable after done.
type process struct {
	proc *os.Process
	done chan struct{}
	err  error
}

// spawn starts cmd with deathSig as its parent-death signal (see procattr_linux.go).
//
// Linux delivers the parent-death signal when the *thread* that forked the child exits, not
// the process (golang/go#27505). The goroutine that starts the child therefore stays locked
// to its thread until the child has been reaped, which ties that thread's life to the
// child's; the goroutine is also the child's owner, waiting on it.
func spawn(cmd *exec.Cmd, cred *syscall.Credential, deathSig syscall.Signal) (*process, error) {
	cmd.SysProcAttr = sysProcAttr(cred, deathSig)
	p := &process{done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(p.done)
		if err := cmd.Start(); err != nil {
			p.err = err
			started <- err
			return
		}
		p.proc = cmd.Process
		started <- nil
		p.err = cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal ignores the error for a process that has already exited: that is what we wanted.
func (p *process) signal(sig os.Signal) {
	_ = p.proc.Signal(sig)
}

// run runs a short-lived command to completion, killing it if ctx ends first.
func run(ctx context.Context, cmd *exec.Cmd, cred *syscall.Credential) error {
	p, err := spawn(cmd, cred, syscall.SIGKILL)
	if err != nil {
		return err
	}
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		p.signal(syscall.SIGKILL)
		<-p.done
		return ctx.Err()
	}
}
