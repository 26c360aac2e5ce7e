package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/internal/ingest"
	"github.com/vindex/vindex/internal/models/engine"
	"github.com/vindex/vindex/internal/runner"
	"github.com/vindex/vindex/internal/server"
	"github.com/vindex/vindex/internal/store"
)

// stepCmd runs one step of the ingest pipeline for one video. The runner
// (Dagu) calls it as pipelines/ingest.yaml says; its exit code tells the
// runner whether to retry (see ingest.ExitCode).
func stepCmd() *cobra.Command {
	var videoID string
	var attempt int
	cmd := &cobra.Command{
		Use:    "step <name> --video <id> --attempt <n>",
		Short:  "Run one ingest pipeline step (called by the pipeline runner)",
		Args:   cobra.ExactArgs(1),
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			id, err := pulid.Parse(videoID)
			if err != nil || id.Prefix() != "vid" {
				return fmt.Errorf("--video: %q is not a video id", videoID)
			}
			if cfg.DatabaseURL == "" {
				return fmt.Errorf("steps need VINDEX_DATABASE_URL (the server passes it to the runner)")
			}
			// Our stdout and stderr are pipes to the Dagu agent. A step whose
			// agent died carries on, and must not then be killed by SIGPIPE at
			// its next log line, losing its work and leaving its scratch dir.
			signal.Ignore(syscall.SIGPIPE)
			log := cfg.Logger().With("step", args[0], "video", id)
			// A step of an embedded runner whose server died gives up at once
			// and quietly (exit 0, so that Dagu neither retries it nor runs the
			// failure handler): the restarted server recovers the attempt.
			owner := os.Getenv(runner.OwnerEnv)
			if runner.OwnerGone(owner) {
				log.Warn("the server that owns the runner is gone; not running the step")
				return nil
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			go watchOwner(ctx, owner, cancel)
			st, err := store.Open(ctx, cfg.DatabaseURL)
			if err != nil {
				return err
			}
			defer st.Close()
			blobs, err := server.OpenBlobs(ctx, cfg)
			if err != nil {
				return err
			}
			steps := &ingest.Steps{DB: st.Ent, Blobs: blobs, Faults: cfg.Faults, Scratch: os.TempDir(), Log: log, Models: engine.New(cfg, log)}
			if err := steps.Run(ctx, args[0], id, attempt); err != nil {
				if runner.OwnerGone(owner) {
					log.Warn("the server that owns the runner is gone; step abandoned", "err", err)
					return nil
				}
				fmt.Fprintln(os.Stderr, "vindex step:", err)
				st.Close()
				os.Exit(ingest.ExitCode(err))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&videoID, "video", "", "the video's id")
	cmd.Flags().IntVar(&attempt, "attempt", 0, "the pipeline attempt")
	_ = cmd.MarkFlagRequired("video")
	_ = cmd.MarkFlagRequired("attempt")
	return cmd
}

// watchOwner calls gone once the process owner names (runner.OwnerEnv) has
// exited, or returns when ctx ends; an empty owner is never watched.
func watchOwner(ctx context.Context, owner string, gone func()) {
	if owner == "" {
		return
	}
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if runner.OwnerGone(owner) {
				gone()
				return
			}
		}
	}
}
