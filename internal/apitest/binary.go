package apitest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/vindex once per test process and returns its path: the
// pipeline's steps run the real binary, as in production.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vindex-testbin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "vindex")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/vindex")
		cmd.Dir = RepoRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = &buildError{out: string(out), err: err}
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return "build vindex: " + e.err.Error() + "\n" + e.out }

// RepoRoot is the checkout this package was compiled from.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// DaguBin is the Dagu binary make deps installed (or VINDEX_DAGU_BIN).
func DaguBin(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("VINDEX_DAGU_BIN"); p != "" {
		return p
	}
	p := filepath.Join(RepoRoot(), ".deps", "bin", "dagu")
	_, err := os.Stat(p)
	require.NoError(t, err, "the Dagu binary is missing: run make deps")
	return p
}
