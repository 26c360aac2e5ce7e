package blobtest

import "syscall"

// The parent-death signal stops the gateway if the test binary dies without
// calling Close (a panic or a -timeout).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
