//go:build !linux

package media

import "syscall"

// Without a parent-death signal, a tool whose vindex crashed runs on until it finishes.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
