package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// Every process of a runner Home — start-all, the worker, the agents they spawn (one
// `dagu start`/`dagu retry` per run) and the steps of those runs — has DAGU_HOME=<Home> in its
// environment: the Supervisor sets it on its children, Dagu passes DAGU_* variables down to
// agents and steps, and a step's own children inherit it. That marker, not a session or a
// process group, is how the Supervisor finds what belongs to a Home: agents and steps each
// call setpgid, so groups do not contain them; sessions do, but a session id can be reused
// once its processes are gone, and the marker also finds processes whose parent died
// (reparented to init, possibly by a crashed vindex).

// ownedProcs returns the live (non-zombie) processes carrying marker, leaving out this
// process. Processes of other users, which /proc does not let us read, are not ours.
func ownedProcs(marker string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	want := []byte(marker)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !hasEnvEntry(env, want) {
			continue
		}
		if alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// hasEnvEntry reports whether the NUL-separated environment block holds exactly entry.
func hasEnvEntry(env, entry []byte) bool {
	for len(env) > 0 {
		i := bytes.IndexByte(env, 0)
		if i < 0 {
			return bytes.Equal(env, entry)
		}
		if bytes.Equal(env[:i], entry) {
			return true
		}
		env = env[i+1:]
	}
	return false
}

// alive reports whether pid is a running process. Zombies count as dead: orphans are
// reparented to PID 1, which in a container may never reap them.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name, which may itself contain ") ".
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z' && b[i+2] != 'X'
	}
	return true
}

// cmdline returns a process's command line with spaces for NULs, for log messages.
func cmdline(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return "?"
	}
	return string(bytes.TrimSpace(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
}

// describe lists pids with their command lines, for log messages.
func describe(pids []int) []string {
	out := make([]string, 0, len(pids))
	for _, p := range pids {
		out = append(out, fmt.Sprintf("%d %s", p, cmdline(p)))
	}
	return out
}

// terminate ends every process carrying marker except the pids in keep: SIGTERM once each,
// up to grace for them to exit, then SIGKILL. It returns what it found on its first pass, as
// "pid command line" strings for the log.
// Processes are signalled one by one rather than by group because agents and steps sit in
// groups of their own, and it rescans because new ones can appear meanwhile (an agent
// starting its next step).
func terminate(marker string, keep map[int]bool, grace time.Duration) []string {
	list := func() []int {
		var out []int
		for _, p := range ownedProcs(marker) {
			if !keep[p] {
				out = append(out, p)
			}
		}
		return out
	}
	first := describe(list())
	if len(first) == 0 {
		return nil
	}
	termed := map[int]bool{}
	for deadline := time.Now().Add(grace); ; {
		pids := list()
		if len(pids) == 0 {
			return first
		}
		if time.Now().After(deadline) {
			break
		}
		for _, p := range pids {
			if !termed[p] {
				_ = syscall.Kill(p, syscall.SIGTERM)
				termed[p] = true
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		pids := list()
		if len(pids) == 0 {
			break
		}
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return first
}

// waitNone polls until no process carrying marker is left apart from keep, or ctx ends.
func waitNone(ctx context.Context, marker string, keep map[int]bool) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		busy := false
		for _, p := range ownedProcs(marker) {
			if !keep[p] {
				busy = true
				break
			}
		}
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
