//go:build !linux

package sphinx

import "syscall"

// Without a parent-death signal, a decoder whose vindex crashed runs on
// until it finishes.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
