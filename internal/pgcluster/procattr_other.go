//go:build !linux

package pgcluster

import "syscall"

// Without a parent-death signal, a server whose owner crashed keeps running until the next
// Start on its directory stops it.
func sysProcAttr(cred *syscall.Credential, _ syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true}
}
