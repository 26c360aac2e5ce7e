package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/internal/ingest"
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
			ctx := cmd.Context()
			st, err := store.Open(ctx, cfg.DatabaseURL)
			if err != nil {
				return err
			}
			defer st.Close()
			blobs, err := server.OpenBlobs(ctx, cfg)
			if err != nil {
				return err
			}
			steps := &ingest.Steps{DB: st.Ent, Blobs: blobs, Faults: cfg.Faults, Scratch: os.TempDir(), Log: cfg.Logger().With("step", args[0], "video", id)}
			if err := steps.Run(ctx, args[0], id, attempt); err != nil {
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
