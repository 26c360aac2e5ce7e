package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/apitest"
	"github.com/vindex/vindex/migrations"
)

// The password apitest.Env.Signup gives every user.
const password = "correct horse battery"

// buildVindex compiles this command into a temporary directory.
func buildVindex(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "the go tool is needed to build vindex")
	bin := filepath.Join(t.TempDir(), "vindex")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// newDataDir returns a data dir that does not exist yet. Under root the
// managed PostgreSQL runs as "postgres", which must be able to traverse
// t.TempDir's private directories.
func newDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		require.NoError(t, os.Chmod(dir, 0o711))
		require.NoError(t, os.Chmod(filepath.Dir(dir), 0o711))
	}
	return filepath.Join(dir, "data")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// vindexCmd runs bin with args over dataDir, with none of the caller's
// VINDEX_* settings (a database URL there would bypass the managed cluster).
func vindexCmd(t *testing.T, bin, dataDir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VINDEX_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "VINDEX_DATA_DIR="+dataDir,
		"VINDEX_DAGU_BIN="+apitest.DaguBin(t),
		"VINDEX_TRANSCRIBER=none", "VINDEX_TEXT_EMBEDDER=none", "VINDEX_IMAGE_EMBEDDER=none")
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// vindexServer is a running `vindex serve`.
type vindexServer struct {
	cmd    *exec.Cmd
	url    string
	output *syncBuffer
	exited chan struct{}
	err    error // cmd.Wait's result, once exited is closed
}

// serve starts `vindex serve` on a free port and waits until it is ready.
func serve(t *testing.T, bin, dataDir string) *vindexServer {
	t.Helper()
	return serveAt(t, bin, dataDir, freeAddr(t))
}

// serveAt starts `vindex serve` on addr with extra environment and waits
// until it is ready; a restarted server then answers where the killed one
// did. If the test ends with the server still running it is killed
// (PostgreSQL then follows it).
func serveAt(t *testing.T, bin, dataDir, addr string, env ...string) *vindexServer {
	t.Helper()
	env = append([]string{"VINDEX_ADDR=" + addr}, env...)
	s := &vindexServer{
		cmd:    vindexCmd(t, bin, dataDir, env, "serve"),
		url:    "http://" + addr,
		output: &syncBuffer{},
		exited: make(chan struct{}),
	}
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	require.NoError(t, s.cmd.Start())
	go func() { s.err = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() || os.Getenv("VINDEX_TEST_LOG") != "" {
			t.Logf("vindex serve (pid %d) output:\n%s", s.cmd.Process.Pid, s.output)
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-s.exited:
			t.Fatalf("vindex serve exited before it was ready: %v\n%s", s.err, s.output)
		default:
		}
		if resp, err := client.Get(s.url + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		require.True(t, time.Now().Before(deadline), "vindex serve not ready within 90 s")
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM and requires a clean exit within 20 s.
func (s *vindexServer) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("vindex serve did not exit within 20 s of SIGTERM")
	}
	require.NoError(t, s.err, "vindex serve must exit 0 after SIGTERM")
}

func postmasterPidFile(dataDir string) string {
	return filepath.Join(dataDir, "postgres", "data", "postmaster.pid")
}

// postmasterPid reads the pid of the managed PostgreSQL of dataDir.
func postmasterPid(t *testing.T, dataDir string) int {
	t.Helper()
	b, err := os.ReadFile(postmasterPidFile(dataDir))
	require.NoError(t, err)
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	require.NoError(t, err)
	return pid
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || (b[i+2] != 'Z' && b[i+2] != 'X')
}

// requirePostgresStopped checks that the cluster whose postmaster was pid
// is gone with vindex.
func requirePostgresStopped(t *testing.T, dataDir string, pid int) {
	t.Helper()
	require.False(t, alive(pid), "postgres (pid %d) outlived vindex", pid)
	_, err := os.Stat(postmasterPidFile(dataDir))
	require.ErrorIs(t, err, fs.ErrNotExist, "postmaster.pid left behind")
}

// prepare skips in -short mode, else builds vindex and picks a fresh data dir.
func prepare(t *testing.T) (bin, dataDir string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the vindex binary with its own PostgreSQL")
	}
	t.Parallel()
	return buildVindex(t), newDataDir(t)
}

const workspaceName = `query($id: ID!) { workspace(id: $id) { name } }`

func TestServeEndToEnd(t *testing.T) {
	bin, dataDir := prepare(t)

	s := serve(t, bin, dataDir)
	pid := postmasterPid(t, dataDir)
	require.True(t, alive(pid))
	api := &apitest.Env{URL: s.url}
	alice := api.Signup(t, "alice@example.com")
	bob := api.Signup(t, "bob@example.com")
	ws := api.CreateWorkspace(t, alice.Access, "Team")
	api.AddMember(t, alice.Access, ws, bob.Email, "MEMBER")
	tokenID, secret := api.CreateAPIToken(t, alice.Access, ws, "READ", "ADMIN")
	var read struct{ Workspace struct{ Name string } }
	api.Do(t, secret, workspaceName, map[string]any{"id": ws}).Decode(t, &read)
	require.Equal(t, "Team", read.Workspace.Name)

	// vindex reindex asks the server, with the token, to reindex stale videos.
	out, err := vindexCmd(t, bin, dataDir, nil, "reindex", "--workspace", ws, "--url", s.url, "--token", secret).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, "0 videos queued for reindexing\n", string(out))
	_, readOnly := api.CreateAPIToken(t, alice.Access, ws, "READ")
	out, err = vindexCmd(t, bin, dataDir, nil, "reindex", "--workspace", ws, "--url", s.url, "--token", readOnly).CombinedOutput()
	require.Error(t, err, "a READ token may not reindex")
	require.Contains(t, string(out), "reindex:")

	var revoked struct {
		RevokeAPIToken struct{ RevokedAt *time.Time }
	}
	api.Do(t, alice.Access, `mutation($id: ID!) { revokeAPIToken(id: $id) { revokedAt } }`, map[string]any{"id": tokenID}).Decode(t, &revoked)
	require.NotNil(t, revoked.RevokeAPIToken.RevokedAt)
	r := api.Do(t, secret, workspaceName, map[string]any{"id": ws})
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Equal(t, []string{"UNAUTHENTICATED"}, r.Codes())

	resp, err := http.Get(s.url + "/graphiql")
	require.NoError(t, err)
	page, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/html")
	require.Contains(t, strings.ToLower(string(page)), "<html")
	require.Contains(t, string(page), "/graphql")

	s.stop(t)
	requirePostgresStopped(t, dataDir, pid)

	// Everything survives a restart on the same data dir, including the
	// signing key: alice's access token from before still works.
	s = serve(t, bin, dataDir)
	pid = postmasterPid(t, dataDir)
	api = &apitest.Env{URL: s.url}
	var login struct{ Login struct{ AccessToken string } }
	api.Do(t, "", `mutation($in: LoginInput!) { login(input: $in) { accessToken } }`,
		map[string]any{"in": map[string]any{"email": alice.Email, "password": password}}).Decode(t, &login)
	var team struct {
		Workspace struct{ Members struct{ TotalCount int } }
	}
	for _, access := range []string{login.Login.AccessToken, alice.Access} {
		api.Do(t, access, `query($id: ID!) { workspace(id: $id) { members { totalCount } } }`, map[string]any{"id": ws}).Decode(t, &team)
		require.Equal(t, 2, team.Workspace.Members.TotalCount)
	}
	s.stop(t)
	requirePostgresStopped(t, dataDir, pid)
}

// latestMigration is the highest version among the embedded migrations.
func latestMigration(t *testing.T) uint64 {
	t.Helper()
	names, err := fs.Glob(migrations.FS, "*.up.sql")
	require.NoError(t, err)
	require.NotEmpty(t, names)
	var latest uint64
	for _, name := range names {
		v, err := strconv.ParseUint(name[:strings.IndexByte(name, '_')], 10, 64)
		require.NoError(t, err, name)
		latest = max(latest, v)
	}
	return latest
}

func TestMigrateFreshDataDir(t *testing.T) {
	bin, dataDir := prepare(t)
	for range 2 { // the second run finds nothing to do
		var stdout, stderr bytes.Buffer
		cmd := vindexCmd(t, bin, dataDir, nil, "migrate")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			t.Logf("vindex migrate stderr:\n%s", stderr.String())
		}
		require.NoError(t, err)
		m := regexp.MustCompile(`^database at migration (\d+) \(dirty: false\)\n$`).FindStringSubmatch(stdout.String())
		require.NotNil(t, m, "output: %q", stdout.String())
		require.Equal(t, strconv.FormatUint(latestMigration(t), 10), m[1])
		_, err = os.Stat(postmasterPidFile(dataDir))
		require.ErrorIs(t, err, fs.ErrNotExist, "migrate must stop the postgres it started")
	}
}
