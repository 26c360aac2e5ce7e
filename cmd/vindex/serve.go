package main

import (
	"github.com/spf13/cobra"

	"github.com/vindex/vindex/internal/server"
)

func serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Serve the API (and, without VINDEX_DATABASE_URL, run a managed PostgreSQL)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			return server.Run(cmd.Context(), cfg, cfg.Logger())
		},
	}
}
