package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// reindexCmd asks a running vindex to reindex a workspace's videos, through
// its GraphQL API (the server owns the pipeline runner).
func reindexCmd() *cobra.Command {
	var ws, url, token string
	var all bool
	cmd := &cobra.Command{
		Use:   "reindex --workspace ID",
		Short: "Re-run transcription and embeddings of a workspace's videos indexed by other models",
		Long: `Re-runs the model steps (transcribe, embed-text, embed-frames) of the workspace's
finished videos: those indexed by other models than the server's current ones, or
not indexed in a modality it can index now (--all: every video). Old vectors stay
searchable until the new ones replace them. Needs an ADMIN's API token
(--token or VINDEX_TOKEN) and the server's URL (--url, default from VINDEX_ADDR).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			if url == "" {
				url = "http://" + cfg.Addr
			}
			if token == "" {
				token = os.Getenv("VINDEX_TOKEN")
			}
			if ws == "" || token == "" {
				return fmt.Errorf("--workspace and an API token (--token or VINDEX_TOKEN) are required")
			}
			body, _ := json.Marshal(map[string]any{
				"query":     `mutation($ws: ID!, $stale: Boolean) { reindexWorkspace(workspaceId: $ws, staleOnly: $stale) }`,
				"variables": map[string]any{"ws": ws, "stale": !all},
			})
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, strings.TrimRight(url, "/")+"/graphql", bytes.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
			if err != nil {
				return fmt.Errorf("reach vindex at %s: %w", url, err)
			}
			defer resp.Body.Close()
			var out struct {
				Data   struct{ ReindexWorkspace int }
				Errors []struct{ Message string }
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				return fmt.Errorf("read the answer (HTTP %d): %w", resp.StatusCode, err)
			}
			if len(out.Errors) > 0 {
				return fmt.Errorf("reindex: %s", out.Errors[0].Message)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d videos queued for reindexing\n", out.Data.ReindexWorkspace)
			return nil
		},
	}
	cmd.Flags().StringVar(&ws, "workspace", "", "the workspace's id")
	cmd.Flags().StringVar(&url, "url", "", "the vindex server (default http://$VINDEX_ADDR)")
	cmd.Flags().StringVar(&token, "token", "", "an ADMIN API token (default $VINDEX_TOKEN)")
	cmd.Flags().BoolVar(&all, "all", false, "reindex every finished video, not only stale ones")
	return cmd
}
