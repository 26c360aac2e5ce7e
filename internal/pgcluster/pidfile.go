package pgcluster

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// pidFile is the part of PostgreSQL's postmaster.pid that we use.
type pidFile struct {
	pid    int
	status string // "starting", "ready", "stopping" or "standby" (PostgreSQL 10+)
}

// readPidFile reads dataDir/postmaster.pid; ok is false when there is none.
func readPidFile(dataDir string) (pf pidFile, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if errors.Is(err, os.ErrNotExist) {
		return pidFile{}, false, nil
	}
	if err != nil {
		return pidFile{}, false, fmt.Errorf("read postmaster.pid: %w", err)
	}
	lines := strings.Split(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil {
		// Postgres writes the file in steps; a half-written one is simply not readable yet.
		return pidFile{}, false, nil
	}
	pf.pid = pid
	if len(lines) > 7 {
		pf.status = strings.TrimSpace(lines[7])
	}
	return pf, true, nil
}

// isPostmasterOf reports whether pid is a live process working in dataDir.
func isPostmasterOf(pid int, dataDir string) bool {
	return alive(pid) && runsIn(pid, dataDir)
}

// alive reports whether pid is a running process. Zombies count as dead: an orphaned
// postmaster is reparented to PID 1, which in a container may never reap it.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc to tell a zombie by; kill(0) said it exists
	}
	// The state follows the parenthesised command name, which may itself contain ") ".
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z' && b[i+2] != 'X'
	}
	return true
}

// runsIn reports whether process pid has dir as its working directory. The postmaster and
// all its children chdir into the data directory, so this tells a postmaster of ours from
// an unrelated process that got a recycled pid.
func runsIn(pid int, dir string) bool {
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	return err == nil && cwd == dir
}
