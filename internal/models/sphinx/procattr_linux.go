package sphinx

import "syscall"

// A process group of its own lets cancellation kill everything the decoder
// started; the parent-death signal kills it if vindex dies without
// cancelling.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
