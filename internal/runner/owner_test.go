package runner_test

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/runner"
)

func TestOwner(t *testing.T) {
	me := runner.Owner()
	require.NotEmpty(t, me)
	require.False(t, runner.OwnerGone(me), "this process runs")

	pid, start, ok := strings.Cut(me, ":")
	require.True(t, ok)
	n, err := strconv.ParseUint(start, 10, 64)
	require.NoError(t, err)
	require.True(t, runner.OwnerGone(pid+":"+strconv.FormatUint(n+1, 10)), "same pid, other start time: a reused pid")

	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	require.True(t, runner.OwnerGone(strconv.Itoa(cmd.Process.Pid)+":"+start), "an exited process")

	for _, v := range []string{"", "x", "1", "1:x", "x:1", "0:1", "-5:1"} {
		require.False(t, runner.OwnerGone(v), "%q names no owner", v)
	}
}
