// Command vindex is the whole product in one binary: the server and the
// tools that operate it, as subcommands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vindex/vindex/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "vindex:", err)
		stop()
		os.Exit(1)
	}
}

func root() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "vindex",
		Short:         "Semantic search over your videos",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(serveCmd(), migrateCmd(), stepCmd(), workerCmd(), reindexCmd(), modelsCmd())
	return cmd
}

func loadConfig() (config.Config, error) { return config.FromEnv(os.LookupEnv) }
