package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// superuser is the role initdb creates; the cluster is vindex's alone, so one role suffices.
const superuser = "vindex"

// initCluster runs initdb unless dataDir already holds a cluster, in which case it checks
// that the cluster's major version matches the binaries.
func initCluster(ctx context.Context, binDir, dataDir string, a account, fast bool, log *os.File) error {
	b, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION"))
	if err == nil {
		return checkVersion(ctx, binDir, dataDir, strings.TrimSpace(string(b)))
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read PG_VERSION: %w", err)
	}
	// A data directory without PG_VERSION is foreign or empty: refuse to touch the former.
	if entries, err := os.ReadDir(dataDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s exists but is not a PostgreSQL data directory (no PG_VERSION); move it away", dataDir)
	}
	_ = os.Remove(dataDir)

	// initdb works in a side directory that is renamed into place only when complete, so a
	// crash during initdb is repaired by the next Start instead of wedging the cluster.
	tmp := dataDir + ".initdb"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("remove incomplete initdb: %w", err)
	}
	args := []string{
		"-D", tmp,
		"-U", superuser,
		// Trust is safe only because the socket directory is private (see makeSocketDir);
		// TCP is off anyway, and reject keeps it that way if someone turns it on.
		"--auth-local=trust", "--auth-host=reject",
		"--encoding=UTF8",
		// Byte-order collation is fast and immune to glibc collation changes (which silently
		// corrupt indexes); a UTF-8 ctype still lets upper(), ILIKE, regexes and full-text
		// parsing treat non-ASCII letters as letters.
		"--locale=C", "--lc-ctype=" + utf8CType(ctx),
	}
	if fast {
		args = append(args, "--no-sync")
	}
	cmd := exec.Command(filepath.Join(binDir, "initdb"), args...)
	cmd.Dir = filepath.Dir(dataDir)
	cmd.Env = serverEnv()
	cmd.Stdout, cmd.Stderr = log, log
	if err := run(ctx, cmd, a.credential()); err != nil {
		_ = os.RemoveAll(tmp)
		return fmt.Errorf("initdb: %w", err)
	}
	if err := os.Rename(tmp, dataDir); err != nil {
		return fmt.Errorf("move new cluster into place: %w", err)
	}
	return nil
}

func checkVersion(ctx context.Context, binDir, dataDir, dataVersion string) error {
	binVersion, err := serverMajor(ctx, binDir)
	if err != nil {
		return err
	}
	if binVersion != dataVersion {
		return fmt.Errorf("%s was created by PostgreSQL %s but %s holds PostgreSQL %s: set BinDir to a PostgreSQL %s installation, or upgrade the data with pg_upgrade",
			dataDir, dataVersion, binDir, binVersion, dataVersion)
	}
	return nil
}

// utf8CType returns C.UTF-8 when the system has that locale, else C.
func utf8CType(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "locale", "-a").Output()
	if err != nil {
		return "C"
	}
	for _, l := range strings.Fields(string(out)) {
		if strings.EqualFold(l, "C.UTF-8") || strings.EqualFold(l, "C.utf8") {
			return "C.UTF-8"
		}
	}
	return "C"
}

// serverEnv is our environment without PG* variables, which would otherwise change the
// server's defaults (PGPORT, PGDATA) or initdb's behaviour behind our back.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}
