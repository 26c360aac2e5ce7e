package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/vindex/vindex/internal/config"
	"github.com/vindex/vindex/internal/runner"
	"github.com/vindex/vindex/internal/store"
)

// StartWorker starts what `vindex worker` runs: a supervised Dagu worker on this machine,
// labelled for ingest runs, that registers with the coordinator at cfg.WorkerCoordinator
// (vindex serve's VINDEX_DAGU_COORDINATOR_ADDR, or an external Dagu's) and runs steps with
// this machine's settings. The database must be given (a worker has no managed PostgreSQL)
// and answer from here; the blob store should be the server's (s3://, or a shared file://
// directory). Dagu 1.30 workers also need the server's runner home, shared at the same path
// (cfg.WorkerRunnerHome).
func StartWorker(ctx context.Context, cfg config.Config, log *slog.Logger) (*runner.Worker, error) {
	if cfg.WorkerCoordinator == "" {
		return nil, errors.New("vindex worker needs the coordinator's address: --coordinator host:port (VINDEX_WORKER_COORDINATOR), " +
			"the address vindex serve's VINDEX_DAGU_COORDINATOR_ADDR makes it listen on")
	}
	if cfg.DatabaseURL == "" {
		return nil, errors.New("vindex worker needs VINDEX_DATABASE_URL: the server's database, reachable from this machine (a worker has no managed PostgreSQL)")
	}
	if u, err := url.Parse(cfg.DatabaseURL); err == nil && u.Scheme != "" {
		switch u.Hostname() {
		case "", "localhost", "127.0.0.1", "::1":
			log.Warn("VINDEX_DATABASE_URL points at this machine; steps run here must reach the server's database", "host", u.Host)
		}
	}
	// Fail now rather than fail every step of every run this worker takes.
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	st, err := store.Open(pctx, cfg.DatabaseURL)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("vindex worker: the database: %w", err)
	}
	_ = st.Close()
	if _, err := OpenBlobs(ctx, cfg); err != nil {
		return nil, fmt.Errorf("vindex worker: the blob store: %w", err)
	}
	switch {
	case cfg.BlobStore == "" || cfg.BlobStore == "local":
		log.Warn("VINDEX_BLOB_STORE is the default local store: steps here read and write "+
			filepath.Join(cfg.DataDir, "blobs")+", which is the server's only if this data dir is the server's, shared at the same path; "+
			"use s3:// or a shared file:// directory", "data_dir", cfg.DataDir)
	case strings.HasPrefix(cfg.BlobStore, "file:"):
		log.Info("blob store is a directory: it must be the server's, shared with this machine", "blob_store", cfg.BlobStore)
	}

	bin, err := daguBin(cfg)
	if err != nil {
		return nil, err
	}
	env, err := stepEnv(cfg, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	id := cfg.WorkerID
	if id == "" {
		id = runner.DefaultWorkerID()
	}
	runnerHome := cfg.WorkerRunnerHome
	if runnerHome == "" {
		runnerHome = filepath.Join(cfg.DataDir, "dagu")
	}
	home := cfg.WorkerHome
	if home == "" {
		home = filepath.Join(cfg.DataDir, "dagu-worker-"+id)
	}
	maxRuns := cfg.WorkerMaxActiveRuns
	if maxRuns <= 0 {
		maxRuns = cfg.IngestConcurrency
	}
	w, err := runner.StartWorker(ctx, runner.WorkerOptions{
		Bin:           bin,
		Home:          home,
		Coordinator:   cfg.WorkerCoordinator,
		DataDir:       filepath.Join(runnerHome, "data"),
		ID:            id,
		MaxActiveRuns: maxRuns,
		TLS:           peerTLS(cfg),
		Env:           env,
		Logger:        log.With("component", "runner"),
	})
	if err != nil {
		return nil, fmt.Errorf("vindex worker: %w", err)
	}
	return w, nil
}

// peerTLS is the runner's mutual TLS between coordinator and workers, or nil.
func peerTLS(cfg config.Config) *runner.PeerTLS {
	if cfg.DaguPeerCert == "" && cfg.DaguPeerKey == "" && cfg.DaguPeerCA == "" {
		return nil
	}
	return &runner.PeerTLS{CertFile: cfg.DaguPeerCert, KeyFile: cfg.DaguPeerKey, CAFile: cfg.DaguPeerCA}
}
