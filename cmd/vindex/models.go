package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vindex/vindex/internal/config"
	"github.com/vindex/vindex/internal/models"
	"github.com/vindex/vindex/internal/models/engine"
)

func modelsCmd() *cobra.Command { return newModelsCmd(loadConfig, models.Catalog) }

// newModelsCmd takes the configuration and the catalog as arguments so that
// tests can run it over a small catalog of their own.
func newModelsCmd(load func() (config.Config, error), catalog models.Models) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List, download and verify the local models",
		Long: `models manages the neural models vindex runs locally, pinned to exact upstream
files (size and sha256), in <VINDEX_DATA_DIR>/models. Files come from their
upstream hosts, or only from VINDEX_MODEL_MIRROR when it is set: a directory or
an http(s) base URL laid out as <mirror>/<model>/<file>. A machine without
access can use a directory another machine filled with ` + "`vindex models pull`" + `.`,
	}
	// open returns the store and the catalog with the configured
	// overrides (VINDEX_MODEL_CATALOG).
	open := func(cmd *cobra.Command) (*models.Store, models.Models, error) {
		cfg, err := load()
		if err != nil {
			return nil, nil, err
		}
		ms := catalog
		if cfg.Models.Catalog != "" {
			if ms, err = catalog.WithOverrides(cfg.Models.Catalog); err != nil {
				return nil, nil, err
			}
		}
		// Progress lines say what Info logs would; keep warnings (retries,
		// replaced files) and worse.
		log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: max(cfg.LogLevel, slog.LevelWarn)}))
		store := engine.NewStore(cfg, log)
		store.Progress = cmd.ErrOrStderr()
		return store, ms, nil
	}

	// openPicked is open, narrowed to the named models (all when none is).
	openPicked := func(cmd *cobra.Command, names []string) (*models.Store, models.Models, error) {
		store, catalog, err := open(cmd)
		if err != nil {
			return nil, nil, err
		}
		ms, err := pick(catalog, names)
		return store, ms, err
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "Show each model's version, size and state, and what to do when it is not ready",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, catalog, err := open(cmd)
			if err != nil {
				return err
			}
			return listModels(cmd.OutOrStdout(), store, catalog)
		},
	}
	pull := &cobra.Command{
		Use:       "pull [name...]",
		Short:     "Download and verify models (all when none is named)",
		ValidArgs: catalog.Names(),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, ms, err := openPicked(cmd, args)
			if err != nil {
				return err
			}
			var errs []error
			for _, m := range ms {
				dir, err := store.Ensure(cmd.Context(), m)
				if err != nil {
					errs = append(errs, err)
					if cmd.Context().Err() != nil {
						break
					}
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ready in %s\n", m.ID(), dir)
			}
			return errors.Join(errs...)
		},
	}
	verify := &cobra.Command{
		Use:       "verify [name...]",
		Short:     "Re-hash downloaded models (all when none is named); fails on any mismatch",
		ValidArgs: catalog.Names(),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, ms, err := openPicked(cmd, args)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var errs []error
			for _, m := range ms {
				// Verifying everything covers what was pulled; a named model
				// must be there.
				if store.Status(m).State == models.Missing {
					if len(args) == 0 {
						fmt.Fprintf(out, "%s: not downloaded, skipped\n", m.ID())
						continue
					}
					fmt.Fprintf(out, "%s: not downloaded; `vindex models pull %s` fetches it\n", m.ID(), m.Name)
					errs = append(errs, fmt.Errorf("verify %s: not downloaded", m.ID()))
					continue
				}
				if err := store.Verify(cmd.Context(), m); err != nil {
					fmt.Fprintf(out, "%s: FAILED; `vindex models pull %s` replaces bad or missing files\n", m.ID(), m.Name)
					errs = append(errs, err)
					continue
				}
				fmt.Fprintf(out, "%s: ok, %d files, %s\n", m.ID(), len(m.Files), mib(m.Size()))
			}
			return errors.Join(errs...)
		},
	}
	cmd.AddCommand(list, pull, verify)
	return cmd
}

// pick returns the named models, or the whole catalog when none is named.
func pick(catalog models.Models, names []string) (models.Models, error) {
	if len(names) == 0 {
		return catalog, nil
	}
	ms := make(models.Models, 0, len(names))
	for _, name := range names {
		m, err := catalog.Lookup(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func listModels(w io.Writer, store *models.Store, catalog models.Models) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tKIND\tSIZE\tSTATE\tTO DO")
	for _, m := range catalog {
		st := store.Status(m)
		state := st.State.String()
		if st.State == models.Partial {
			state = fmt.Sprintf("partial (%s)", mib(st.Bytes()))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, m.Version, m.Kind, mib(m.Size()), state, hint(m, st.State))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	source := "upstream hosts (VINDEX_MODEL_MIRROR is not set)"
	if store.Mirror != "" {
		source = "mirror " + store.Mirror
	}
	_, err := fmt.Fprintf(w, "\nin %s; downloads from %s\n", store.Dir, source)
	return err
}

func hint(m models.Model, s models.State) string {
	switch s {
	case models.Missing:
		return "vindex models pull " + m.Name
	case models.Partial:
		return "vindex models pull " + m.Name + " (resumes)"
	case models.Unverified:
		return "vindex models verify " + m.Name
	case models.Corrupt:
		return "vindex models pull " + m.Name + " (replaces bad files)"
	}
	return ""
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
