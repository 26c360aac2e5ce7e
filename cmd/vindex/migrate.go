package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vindex/vindex/internal/server"
	"github.com/vindex/vindex/internal/store"
)

func migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations (serve also does this at start)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			log := cfg.Logger()
			url, stop, err := server.OpenDatabase(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			defer stop()
			if err := store.Migrate(cmd.Context(), url); err != nil {
				return err
			}
			v, dirty, err := store.Version(url)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "database at migration %d (dirty: %t)\n", v, dirty)
			return nil
		},
	}
}
