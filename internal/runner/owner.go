package runner

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// OwnerEnv names the step environment entry that identifies the process owning an embedded
// runner (see Owner). When the owner dies without Stop (kill -9, OOM killer), start-all and the
// worker get the parent-death signal, but the worker's agents are not its children in that
// sense and carry on, starting step after step, until the next Start on the Home stops them:
// work nobody will use, on a machine whose server is down, and a failure handler that would
// record a video FAILED just before the restarted server could recover it. A step run by an
// embedded runner therefore gives up as soon as OwnerGone says its owner is gone.
const OwnerEnv = "VINDEX_RUNNER_OWNER"

// Owner identifies this process for OwnerEnv: "pid:start", start being the process's start
// time in clock ticks since boot, which tells a reused pid apart. It is "" where /proc cannot
// tell (then steps do not watch their owner).
func Owner() string {
	pid := os.Getpid()
	start, ok := procStart(pid)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d:%d", pid, start)
}

// OwnerGone reports whether the process an Owner value names has exited. A value that names
// no process ("", malformed) is never gone.
func OwnerGone(owner string) bool {
	p, s, ok := strings.Cut(owner, ":")
	if !ok {
		return false
	}
	pid, err1 := strconv.Atoi(p)
	want, err2 := strconv.ParseUint(s, 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return false
	}
	start, ok := procStart(pid)
	return !ok || start != want || !alive(pid)
}

// procStart returns a process's start time (field 22 of /proc/<pid>/stat).
func procStart(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The fields after the parenthesised command name (which may hold ") ") start at field 3.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 20 {
		return 0, false
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	return start, err == nil
}
