package pgcluster_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/pgcluster"
)

// newDir returns a path for a cluster home that does not exist yet. Under root the server
// runs as "postgres", which must be able to traverse t.TempDir's private directories.
func newDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		require.NoError(t, os.Chmod(dir, 0o711))
		require.NoError(t, os.Chmod(filepath.Dir(dir), 0o711))
	}
	return filepath.Join(dir, "pg")
}

func start(t *testing.T, dir string) *pgcluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Fast: true, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

func exec1(t *testing.T, url, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer func() { _ = conn.Close(context.Background()) }()
	_, err = conn.Exec(t.Context(), sql, args...)
	require.NoError(t, err)
}

func queryInt(t *testing.T, url, sql string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer func() { _ = conn.Close(context.Background()) }()
	var n int
	require.NoError(t, conn.QueryRow(t.Context(), sql).Scan(&n))
	return n
}

func TestStartStopRestartKeepsData(t *testing.T) {
	t.Parallel()
	dir := newDir(t)

	c := start(t, dir)
	require.Equal(t, fmt.Sprintf("postgres://vindex@/vindex?host=%s/run&sslmode=disable", dir), c.URL("vindex"))
	require.Equal(t, 1, queryInt(t, c.URL("vindex"), "SELECT 1"))
	exec1(t, c.URL("vindex"), "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")
	require.NoError(t, c.Stop(t.Context()))
	require.NoError(t, c.Stop(t.Context()), "Stop is idempotent")
	<-c.Done()

	c = start(t, dir)
	require.Equal(t, 42, queryInt(t, c.URL("vindex"), "SELECT n FROM kept"))
}

func TestTwoClustersAtOnce(t *testing.T) {
	t.Parallel()
	a, b := start(t, newDir(t)), start(t, newDir(t))
	exec1(t, a.URL("vindex"), "CREATE TABLE only_in_a ()")
	require.Equal(t, 1, queryInt(t, a.URL("vindex"), "SELECT count(*) FROM pg_class WHERE relname = 'only_in_a'"))
	require.Equal(t, 0, queryInt(t, b.URL("vindex"), "SELECT count(*) FROM pg_class WHERE relname = 'only_in_a'"))
}

func TestSecondStartOnSameDirFails(t *testing.T) {
	t.Parallel()
	dir := newDir(t)
	start(t, dir)
	_, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: dir, Fast: true})
	require.ErrorIs(t, err, pgcluster.ErrInUse)
	require.ErrorContains(t, err, "pid "+strconv.Itoa(os.Getpid()))
}

func TestBadBinDir(t *testing.T) {
	t.Parallel()
	for name, binDir := range map[string]string{
		"missing":     "/nonexistent/postgresql/bin",
		"no binaries": t.TempDir(),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: newDir(t), BinDir: binDir})
			require.ErrorContains(t, err, filepath.Join(binDir, "initdb")+" is missing or not executable")
		})
	}
}

func TestLongDirUsesPrivateTempSocketDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(newDir(t), strings.Repeat("d", 100))
	c := start(t, dir)
	url := c.URL("vindex")
	require.NotContains(t, url, dir)
	require.Equal(t, 1, queryInt(t, url, "SELECT 1"))

	host := strings.TrimSuffix(strings.SplitN(url, "host=", 2)[1], "&sslmode=disable")
	fi, err := os.Stat(host)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
	require.NoError(t, c.Stop(t.Context()))
	require.NoDirExists(t, host, "Stop removes the temporary socket dir")
}

func TestStartupFailureQuotesLog(t *testing.T) {
	t.Parallel()
	dir := newDir(t)
	require.NoError(t, start(t, dir).Stop(t.Context()))
	conf, err := os.OpenFile(filepath.Join(dir, "data", "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = conf.WriteString("shared_buffers = 'lots'\n")
	require.NoError(t, err)
	require.NoError(t, conf.Close())

	_, err = pgcluster.Start(t.Context(), pgcluster.Options{Dir: dir, Fast: true})
	require.ErrorContains(t, err, "postgres exited during startup")
	require.ErrorContains(t, err, `invalid value for parameter "shared_buffers"`)
}

func TestDataFromAnotherMajorVersion(t *testing.T) {
	t.Parallel()
	dir := newDir(t)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "data"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data", "PG_VERSION"), []byte("9.6\n"), 0o600))
	_, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: dir})
	require.ErrorContains(t, err, "created by PostgreSQL 9.6")
	require.ErrorContains(t, err, "pg_upgrade")
}

func TestUnreachableDirUnderRoot(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root switches to the postgres user")
	}
	dir := filepath.Join(t.TempDir(), "pg") // t.TempDir is mode 0700, like /root
	_, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: dir})
	require.ErrorContains(t, err, "not traversable by OS user postgres")
	require.ErrorContains(t, err, "not under /root")
}

// TestStopsAbandonedServer covers a postmaster that outlived its owner without being told to
// stop (no parent-death signal): the next Start must stop it and take over.
func TestStopsAbandonedServer(t *testing.T) {
	t.Parallel()
	dir := newDir(t)
	old := start(t, dir)
	exec1(t, old.URL("vindex"), "CREATE TABLE kept AS SELECT 7 AS n")
	pid := pgcluster.Abandon(old)

	c := start(t, dir)
	require.False(t, pgcluster.Alive(pid))
	require.Equal(t, 7, queryInt(t, c.URL("vindex"), "SELECT n FROM kept"))
}

// TestRestartAfterPostmasterKilled leaves a stale postmaster.pid (and children that notice
// their postmaster's death only a moment later) for the next Start.
func TestRestartAfterPostmasterKilled(t *testing.T) {
	t.Parallel()
	dir := newDir(t)
	old := start(t, dir)
	// Fast mode commits asynchronously, so without a checkpoint the kill could lose the table.
	exec1(t, old.URL("vindex"), "CREATE TABLE kept AS SELECT 8 AS n")
	exec1(t, old.URL("vindex"), "CHECKPOINT")
	pid := queryInt(t, old.URL("vindex"), "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
	require.NoError(t, syscall.Kill(postmasterPID(t, dir), syscall.SIGKILL))
	<-old.Done()
	require.Error(t, old.Stop(t.Context()), "Stop reports the unexpected exit")
	require.FileExists(t, filepath.Join(dir, "data", "postmaster.pid"))

	c := start(t, dir)
	require.Equal(t, 8, queryInt(t, c.URL("vindex"), "SELECT n FROM kept"))
	require.False(t, pgcluster.Alive(pid))
}

func postmasterPID(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	require.NoError(t, err)
	return pid
}

// crashDirEnv tells the test binary, re-executed by TestRecoversAfterOwnerKilled, to act as
// a vindex process that owns a cluster and is then killed.
const crashDirEnv = "PGCLUSTER_TEST_OWNER_DIR"

func TestOwnerProcess(t *testing.T) {
	t.Parallel()
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("child process of TestRecoversAfterOwnerKilled")
	}
	c, err := pgcluster.Start(t.Context(), pgcluster.Options{Dir: dir, Fast: true})
	require.NoError(t, err)
	exec1(t, c.URL("vindex"), "CREATE TABLE IF NOT EXISTS kept (n int); INSERT INTO kept VALUES (1)")
	fmt.Printf("READY %d\n", postmasterPID(t, dir))
	time.Sleep(time.Hour) // until kill -9
}

// runOwner starts a child process that owns the cluster in dir, kills it with SIGKILL once
// the cluster is up, and returns the pid of the postmaster it left behind.
func runOwner(t *testing.T, dir string) int {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestOwnerProcess$", "-test.v")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	cmd.Stderr = t.Output()
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Wait() }()
	for sc := bufio.NewScanner(out); sc.Scan(); {
		if pid, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
			require.NoError(t, cmd.Process.Kill())
			n, err := strconv.Atoi(pid)
			require.NoError(t, err)
			return n
		}
	}
	require.FailNow(t, "owner process exited before the cluster was ready")
	return 0
}

func TestRecoversAfterOwnerKilled(t *testing.T) {
	t.Parallel()
	dir := newDir(t)

	// Start again at once: the old server may still be shutting down.
	pid := runOwner(t, dir)
	c := start(t, dir)
	require.False(t, pgcluster.Alive(pid))
	require.Equal(t, 1, queryInt(t, c.URL("vindex"), "SELECT count(*) FROM kept"))
	require.NoError(t, c.Stop(t.Context()))

	// Left alone, the orphaned server stops by itself (parent-death signal).
	pid = runOwner(t, dir)
	require.Eventually(t, func() bool { return !pgcluster.Alive(pid) }, 30*time.Second, 20*time.Millisecond)
	c = start(t, dir)
	require.Equal(t, 2, queryInt(t, c.URL("vindex"), "SELECT count(*) FROM kept"))
}

func TestRemove(t *testing.T) {
	t.Parallel()
	dir := newDir(t)
	c := start(t, dir)
	require.ErrorIs(t, pgcluster.Remove(t.Context(), dir), pgcluster.ErrInUse)

	pid := pgcluster.Abandon(c)
	require.NoError(t, pgcluster.Remove(t.Context(), dir))
	require.False(t, pgcluster.Alive(pid))
	require.NoDirExists(t, dir)
}
