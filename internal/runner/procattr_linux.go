package runner

import "syscall"

// sysProcAttr puts a child in a session of its own, so that a terminal's Ctrl-C reaches only
// vindex (which then drains in order), and asks the kernel to send it SIGTERM when its parent
// thread dies (see spawn for why the thread, not the process).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGTERM}
}
