package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// errNoServer explains the fix, because a missing server is the first thing a new developer hits.
var errNoServer = errors.New("no PostgreSQL server found: pg_config is not on PATH and /usr/lib/postgresql/*/bin holds no initdb; install the PostgreSQL server (e.g. apt-get install postgresql) or set BinDir")

// findBinDir returns the directory holding initdb and postgres, checking both are executable
// so that a bad BinDir fails here rather than as an obscure exec error later.
func findBinDir(ctx context.Context, dir string) (string, error) {
	if dir == "" {
		var err error
		if dir, err = defaultBinDir(ctx); err != nil {
			return "", err
		}
	}
	for _, name := range []string{"initdb", "postgres"} {
		if p := filepath.Join(dir, name); !isExecutable(p) {
			return "", fmt.Errorf("PostgreSQL binaries not found: %s is missing or not executable (install the PostgreSQL server or set BinDir)", p)
		}
	}
	return dir, nil
}

func defaultBinDir(ctx context.Context) (string, error) {
	// pg_config may come from a client-only package, so its answer counts only if the
	// server binaries are really there.
	if out, err := exec.CommandContext(ctx, "pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		return versionKey(filepath.Base(filepath.Dir(dirs[i]))) > versionKey(filepath.Base(filepath.Dir(dirs[j])))
	})
	for _, dir := range dirs {
		if isExecutable(filepath.Join(dir, "initdb")) {
			return dir, nil
		}
	}
	return "", errNoServer
}

// versionKey orders Debian's version directories ("9.6", "15") numerically.
func versionKey(v string) float64 {
	f, _ := strconv.ParseFloat(v, 64)
	return f
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// serverMajor returns the major version of the postgres binary ("15"), to compare with a
// data directory's PG_VERSION before starting: PostgreSQL's own message for a mismatch does
// not say what to do about it.
func serverMajor(ctx context.Context, binDir string) (string, error) {
	out, err := exec.CommandContext(ctx, filepath.Join(binDir, "postgres"), "--version").Output()
	if err != nil {
		return "", fmt.Errorf("postgres --version: %w", err)
	}
	// "postgres (PostgreSQL) 15.14 (Debian 15.14-1.pgdg120+1)"
	fields := strings.Fields(string(out))
	if len(fields) < 3 {
		return "", fmt.Errorf("postgres --version: unexpected output %q", out)
	}
	parts := strings.Split(fields[2], ".")
	if n, _ := strconv.Atoi(parts[0]); n < 10 && len(parts) > 1 {
		return parts[0] + "." + parts[1], nil
	}
	return parts[0], nil
}
