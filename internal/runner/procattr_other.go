//go:build !linux

package runner

import "syscall"

// Without a parent-death signal, children of a crashed vindex keep running until the next
// Start on the same Home stops them (which needs /proc, so: Linux only, in practice).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true}
}
