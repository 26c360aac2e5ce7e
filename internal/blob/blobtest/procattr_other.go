//go:build !linux

package blobtest

import "syscall"

// Without a parent-death signal, a gateway whose test binary crashed runs
// on until killed.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
