package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/vindex/vindex/internal/server"
)

func workerCmd() *cobra.Command {
	var (
		coordinator, id, home, runnerHome string
		maxActiveRuns                     int
	)
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run pipeline steps on this machine for a vindex server's runner",
		Long: `worker runs a supervised Dagu worker that registers with the coordinator of
vindex serve's runner (VINDEX_DAGU_COORDINATOR_ADDR) and executes ingest runs
here, with this machine's settings: VINDEX_DATABASE_URL (required: the server's
database), VINDEX_BLOB_STORE (the server's: s3:// or a shared directory),
VINDEX_BIN, and so on. Dagu 1.30 workers read and write run state in the
server's runner home, so it must be shared with this machine at the same path
(default <VINDEX_DATA_DIR>/dagu). SIGTERM drains: no new runs are taken, and
running ones get VINDEX_SHUTDOWN_GRACE to finish.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			flags := cmd.Flags()
			if flags.Changed("coordinator") {
				cfg.WorkerCoordinator = coordinator
			}
			if flags.Changed("id") {
				cfg.WorkerID = id
			}
			if flags.Changed("max-active-runs") {
				cfg.WorkerMaxActiveRuns = maxActiveRuns
			}
			if flags.Changed("home") {
				cfg.WorkerHome = home
			}
			if flags.Changed("runner-home") {
				cfg.WorkerRunnerHome = runnerHome
			}
			log := cfg.Logger()
			w, err := server.StartWorker(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			select {
			case <-cmd.Context().Done():
			case <-w.Done():
				return w.Err()
			}
			log.Info("draining the worker", "grace", cfg.ShutdownGrace)
			ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
			defer cancel()
			return w.Stop(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&coordinator, "coordinator", "", "the coordinator's host:port (VINDEX_WORKER_COORDINATOR)")
	f.StringVar(&id, "id", "", "this worker's id, unique among the coordinator's workers (VINDEX_WORKER_ID; default the host name)")
	f.IntVar(&maxActiveRuns, "max-active-runs", 0, "runs at once on this machine (VINDEX_WORKER_MAX_ACTIVE_RUNS; default VINDEX_INGEST_CONCURRENCY)")
	f.StringVar(&runnerHome, "runner-home", "", "the server's runner home, shared at the same path (VINDEX_WORKER_RUNNER_HOME; default <data dir>/dagu)")
	f.StringVar(&home, "home", "", "this worker's own runner home, not shared (VINDEX_WORKER_HOME; default <data dir>/dagu-worker-<id>)")
	return cmd
}
