// Command migrategen writes a new versioned migration to migrations/ with the
// difference between the ent schema and what the existing migrations build.
// It replays them on a throwaway PostgreSQL cluster of its own, so it needs
// no database from the developer. Run it as `make migration NAME=add_things`.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	atlasmigrate "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/sqltool"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql/schema"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/vindex/vindex/ent/migrate"
	"github.com/vindex/vindex/internal/pgcluster"
)

// ent's differ opens its URL by scheme; "postgres" is lib/pq's driver name,
// which vindex does not use.
func init() { sql.Register("postgres", stdlib.GetDefaultDriver()) }

func main() {
	name := flag.String("name", "", "migration name, e.g. add_pipeline_runs")
	dir := flag.String("dir", "migrations", "migrations directory")
	flag.Parse()
	if *name == "" {
		log.Fatal("migrategen: -name is required")
	}
	if err := run(*name, *dir); err != nil {
		log.Fatalf("migrategen: %v", err)
	}
}

func run(name, dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tmp, err := os.MkdirTemp("", "vindex-migrategen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{Dir: tmp, Fast: true})
	if err != nil {
		return fmt.Errorf("start scratch postgres: %w", err)
	}
	defer cluster.Stop(context.Background())

	d, err := sqltool.NewGolangMigrateDir(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	// Hand-written migrations are legitimate edits: re-hash the directory so
	// Atlas's integrity check accepts them.
	sum, err := d.Checksum()
	if err != nil {
		return fmt.Errorf("hash %s: %w", dir, err)
	}
	if err := atlasmigrate.WriteSumFile(d, sum); err != nil {
		return fmt.Errorf("write %s/atlas.sum: %w", dir, err)
	}
	// The hand-written migrations create tables that are not in ent's
	// schema (partitioned vector tables); Atlas must never drop them.
	return migrate.NamedDiff(ctx, cluster.URL("vindex"), name,
		schema.WithDir(d),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDialect(dialect.Postgres),
		schema.WithFormatter(sqltool.GolangMigrateFormatter),
		schema.WithDropIndex(true),
		schema.WithDropColumn(true),
		schema.WithSkipChanges(schema.DropTable),
	)
}
