package pgcluster

import "syscall"

func sysProcAttr(cred *syscall.Credential, deathSig syscall.Signal) *syscall.SysProcAttr {
	// Go sets the parent-death signal after switching credentials, so setuid does not clear it.
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: deathSig}
}
