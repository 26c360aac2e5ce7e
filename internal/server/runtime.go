package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/vindex/vindex/internal/blob"
	"github.com/vindex/vindex/internal/config"
	"github.com/vindex/vindex/internal/runner"
)

// IngestQueue is the runner queue ingest runs go to.
const IngestQueue = "ingest"

// OpenBlobs opens the configured blob store.
func OpenBlobs(ctx context.Context, cfg config.Config) (blob.Store, error) {
	return blob.Open(ctx, cfg.BlobStore, cfg.DataDir, cfg.S3AccessKey, cfg.S3SecretKey)
}

// StartRunner returns a client for the pipeline runner: the external Dagu
// named by VINDEX_DAGU_URL, or an embedded one started now as supervised
// children (then stop drains and stops it, and embedded is true).
func StartRunner(ctx context.Context, cfg config.Config, databaseURL string, log *slog.Logger) (client *runner.Client, stop func(context.Context), embedded bool, err error) {
	if cfg.DaguURL != "" {
		return runner.NewClient(cfg.DaguURL, cfg.DaguToken), func(context.Context) {}, false, nil
	}
	bin, err := daguBin(cfg)
	if err != nil {
		return nil, nil, false, err
	}
	env, err := stepEnv(cfg, databaseURL)
	if err != nil {
		return nil, nil, false, err
	}
	sup, err := runner.Start(ctx, runner.Options{
		Bin:                 bin,
		Home:                filepath.Join(cfg.DataDir, "dagu"),
		Queue:               IngestQueue,
		MaxConcurrency:      cfg.IngestConcurrency,
		WorkerMaxActiveRuns: cfg.IngestConcurrency,
		CoordinatorAddr:     cfg.DaguCoordinatorAddr,
		TLS:                 peerTLS(cfg),
		Env:                 env,
		Logger:              log.With("component", "runner"),
	})
	if err != nil {
		return nil, nil, false, fmt.Errorf("start embedded runner: %w", err)
	}
	stop = func(ctx context.Context) {
		if err := sup.Stop(ctx); err != nil {
			log.Error("stop runner", "err", err)
		}
	}
	return sup.Client(), stop, true, nil
}

// daguBin finds the Dagu binary: configured, installed by make deps beside
// the checkout the vindex binary was built in, or on PATH.
func daguBin(cfg config.Config) (string, error) {
	if cfg.DaguBin != "" {
		return cfg.DaguBin, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "..", ".deps", "bin", "dagu")
		if _, err := os.Stat(p); err == nil {
			return filepath.Clean(p), nil
		}
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		p := filepath.Join(dir, "dagu")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("the Dagu binary was not found: run make deps, or set VINDEX_DAGU_BIN")
}

// stepEnv is the environment the pipeline's steps run with: the same
// settings as this server, with the database it actually uses.
func stepEnv(cfg config.Config, databaseURL string) ([]string, error) {
	bin := cfg.Bin
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the vindex binary for steps: %w", err)
		}
		bin = exe
	}
	env := []string{
		"VINDEX_BIN=" + bin,
		"VINDEX_DATABASE_URL=" + databaseURL,
		"VINDEX_DATA_DIR=" + cfg.DataDir,
		"VINDEX_LOG_LEVEL=" + strings.ToLower(cfg.LogLevel.String()),
		"VINDEX_LOG_FORMAT=" + cfg.LogFormat,
	}
	env = append(env, cfg.Models.Env()...)
	// Steps give up when this process dies without stopping the runner
	// (runner.OwnerEnv): nothing else stops the runner's agents then.
	if owner := runner.Owner(); owner != "" {
		env = append(env, runner.OwnerEnv+"="+owner)
	}
	for k, v := range map[string]string{
		"VINDEX_BLOB_STORE":    cfg.BlobStore,
		"VINDEX_S3_ACCESS_KEY": cfg.S3AccessKey,
		"VINDEX_S3_SECRET_KEY": cfg.S3SecretKey,
		"VINDEX_FAULTS":        faultsString(cfg.Faults),
		"VINDEX_MODEL_MIRROR":  cfg.ModelMirror,
	} {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env, nil
}

func faultsString(f map[string]int) string {
	parts := make([]string, 0, len(f))
	for k, n := range f {
		parts = append(parts, fmt.Sprintf("%s:%d", k, n))
	}
	return strings.Join(parts, ",")
}
