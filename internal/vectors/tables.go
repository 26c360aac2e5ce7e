// Package vectors owns the per-workspace pgvector tables. Each embedding
// table is a parent partitioned by LIST (workspace_id); every workspace gets
// its own partition with its own HNSW index. pgvector filters only after an
// index scan, so a shared index with a workspace filter would return too few
// rows; a partition per workspace keeps each search inside one small index,
// and dropping a workspace is a DROP TABLE.
package vectors

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/vindex/vindex/ent/schema/pulid"
)

// Execer runs DDL; *sql.DB, *sql.Tx and *ent.Tx all satisfy it.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Kind is one embedding table family (see migrations/*_vector_tables.up.sql).
type Kind struct {
	Parent string // the partitioned parent table
	Dims   int
}

// Kinds are the embedding tables every workspace has.
var (
	Text   = Kind{Parent: "text_embeddings", Dims: 384}  // transcript passages and on-screen text
	Frames = Kind{Parent: "frame_embeddings", Dims: 512} // keyframes (CLIP)
	Kinds  = []Kind{Text, Frames}
)

// HNSW build parameters, chosen with BenchmarkSearchScale
// (internal/search; README, "Search speed"): at 1M clustered vectors
// pgvector's defaults (m=16, ef_construction=64) stop near recall@10 0.90
// whatever ef_search is, because the graph, not the search, misses
// neighbours; a denser graph built more carefully reaches the target.
const (
	hnswM              = 32
	hnswEfConstruction = 128
)

// Table returns the partition of kind k that holds workspace ws's rows. The ID
// is validated, so the name is always a safe identifier.
func Table(k Kind, ws pulid.ID) (string, error) {
	if _, err := pulid.Parse(string(ws)); err != nil || ws.Prefix() != "wsp" {
		return "", fmt.Errorf("vectors: %q is not a workspace id", ws)
	}
	return k.Parent + "_" + string(ws), nil
}

// CreateWorkspace creates the workspace's partitions and their HNSW indexes.
// It is idempotent, and meant to run in the transaction that creates the
// workspace so a workspace never exists without its tables.
func CreateWorkspace(ctx context.Context, db Execer, ws pulid.ID) error {
	for _, k := range Kinds {
		t, err := Table(k, ws)
		if err != nil {
			return err
		}
		stmts := []string{
			fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %q PARTITION OF %q FOR VALUES IN ('%s')`, t, k.Parent, ws),
			fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q USING hnsw (embedding vector_cosine_ops) WITH (m = %d, ef_construction = %d)`,
				t+"_hnsw", t, hnswM, hnswEfConstruction),
		}
		for _, q := range stmts {
			if _, err := db.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("create %s: %w", t, err)
			}
		}
	}
	return nil
}

// DropWorkspace drops the workspace's partitions and everything in them.
func DropWorkspace(ctx context.Context, db Execer, ws pulid.ID) error {
	for _, k := range Kinds {
		t, err := Table(k, ws)
		if err != nil {
			return err
		}
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`DROP TABLE IF EXISTS %q`, t)); err != nil {
			return fmt.Errorf("drop %s: %w", t, err)
		}
	}
	return nil
}
