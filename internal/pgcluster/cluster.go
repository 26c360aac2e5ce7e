package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configures Start.
type Options struct {
	Dir    string // cluster home; data in Dir/data, unix socket in Dir/run, log in Dir/postgres.log
	BinDir string // optional; default: `pg_config --bindir`, else newest /usr/lib/postgresql/*/bin
	// Fast is for tests: fsync=off, synchronous_commit=off, full_page_writes=off, initdb
	// --no-sync, max_connections=300. A crash of the server itself (not of vindex: the
	// parent-death signal shuts the server down cleanly) can lose the last commits.
	Fast   bool
	Logger *slog.Logger // optional; default slog.Default()
}

// Cluster is a running PostgreSQL server owned by this process.
type Cluster struct {
	home          string
	dataDir       string
	socketDir     string
	tempSocketDir bool
	logPath       string
	logger        *slog.Logger

	lock *os.File
	log  *os.File
	proc *process

	stopOnce sync.Once
	stopErr  error
}

// Start initialises the cluster in opts.Dir on first use, starts the server, and returns once
// it accepts connections and the database "vindex" exists. The server stops when Stop is
// called or, failing that, when this process exits. Bound the wait with ctx: after a crash
// PostgreSQL replays its WAL before accepting connections, which can take a while.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("start postgres cluster: Options.Dir is empty")
	}
	home, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start postgres cluster: %w", err)
	}
	c, err := start(ctx, home, opts)
	if err != nil {
		return nil, fmt.Errorf("start postgres cluster in %s: %w", home, err)
	}
	return c, nil
}

func start(ctx context.Context, home string, opts Options) (_ *Cluster, err error) {
	begin := time.Now()
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	binDir, err := findBinDir(ctx, opts.BinDir)
	if err != nil {
		return nil, err
	}
	acct, err := runAsAccount()
	if err != nil {
		return nil, err
	}
	if home, err = prepareHome(home, acct); err != nil {
		return nil, err
	}
	lock, err := lockDir(home)
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		home:    home,
		dataDir: filepath.Join(home, "data"),
		logPath: filepath.Join(home, "postgres.log"),
		logger:  logger.With("cluster", home),
		lock:    lock,
	}
	var logStart int64
	defer func() {
		if err == nil {
			return
		}
		if c.log != nil { // quote what initdb or postgres said during this attempt
			err = fmt.Errorf("%w%s", err, logTail(c.logPath, logStart))
		}
		c.release()
	}()
	if c.log, logStart, err = openLog(c.logPath, acct); err != nil {
		return nil, err
	}
	if err := stopOrphan(ctx, c.dataDir, c.logger); err != nil {
		return nil, err
	}
	if err := initCluster(ctx, binDir, c.dataDir, acct, opts.Fast, c.log); err != nil {
		return nil, err
	}
	if c.socketDir, c.tempSocketDir, err = makeSocketDir(home, acct); err != nil {
		return nil, err
	}
	if c.proc, err = spawn(c.postgresCmd(binDir, opts.Fast), acct.credential(), syscall.SIGINT); err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx); err != nil {
		c.kill()
		return nil, err
	}
	c.logger.InfoContext(ctx, "postgres ready", "pid", c.proc.proc.Pid, "socket_dir", c.socketDir, "took", time.Since(begin))
	return c, nil
}

// prepareHome creates the cluster home, resolves symlinks (postmaster.pid and /proc report
// real paths) and hands it to the server's OS user.
func prepareHome(home string, acct account) (string, error) {
	// Parents get the usual 0755 so that the server's OS user can traverse what we create.
	if err := os.MkdirAll(filepath.Dir(home), 0o755); err != nil {
		return "", fmt.Errorf("create cluster dir: %w", err)
	}
	if err := os.Mkdir(home, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("create cluster dir: %w", err)
	}
	home, err := filepath.EvalSymlinks(home)
	if err != nil {
		return "", fmt.Errorf("resolve cluster dir: %w", err)
	}
	if err := acct.checkTraversable(home); err != nil {
		return "", err
	}
	if err := acct.chown(home); err != nil {
		return "", err
	}
	if err := os.Chmod(home, 0o700); err != nil {
		return "", fmt.Errorf("chmod cluster dir: %w", err)
	}
	return home, nil
}

func (c *Cluster) postgresCmd(binDir string, fast bool) *exec.Cmd {
	// Settings go on the command line rather than in postgresql.conf so that they follow
	// this code (the socket dir can change between runs) and cannot be overridden by edits.
	args := []string{
		"-D", c.dataDir,
		"-c", "listen_addresses=",
		"-c", "port=5432",
		"-c", `unix_socket_directories="` + c.socketDir + `"`,
		"-c", "unix_socket_permissions=0700",
		"-c", "logging_collector=off",
		"-c", "log_destination=stderr",
		// Shows in process titles ("postgres: vindex: checkpointer"), telling our server
		// apart from a system one in ps.
		"-c", "cluster_name=vindex",
	}
	if fast {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			// Parallel tests each open a pool (up to GOMAXPROCS connections by default);
			// the default 100 runs out on a big CI machine.
			"-c", "max_connections=300")
	}
	cmd := exec.Command(filepath.Join(binDir, "postgres"), args...)
	cmd.Dir = c.home
	cmd.Env = serverEnv()
	cmd.Stdout, cmd.Stderr = c.log, c.log
	return cmd
}

// URL returns a pgx-compatible URL for database as the superuser, over the unix socket.
func (c *Cluster) URL(database string) string {
	host := strings.ReplaceAll(url.QueryEscape(c.socketDir), "%2F", "/")
	return fmt.Sprintf("postgres://%s@/%s?host=%s&sslmode=disable", superuser, url.PathEscape(database), host)
}
