package media

import "syscall"

// A process group of its own lets cancellation kill everything the tool started; the
// parent-death signal kills the tool if vindex dies without cancelling.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
