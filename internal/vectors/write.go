package vectors

import (
	"context"
	"fmt"
	"strings"

	"github.com/pgvector/pgvector-go"

	"github.com/vindex/vindex/ent/schema/pulid"
)

// Sources of text vectors.
const (
	Speech = "SPEECH" // a transcript segment
	Screen = "TEXT"   // on-screen text read from keyframes
)

// TextRow is one text passage of a video and its embedding; without one
// (no text embedder) the passage is still found by its words.
type TextRow struct {
	Source     string
	Start, End float64
	Content    string
	Embedding  []float32
}

// FrameRow is one keyframe's embedding.
type FrameRow struct {
	Time      float64
	Embedding []float32
}

// rowsPerInsert keeps one INSERT well under PostgreSQL's 65535 parameters.
const rowsPerInsert = 500

// ReplaceText replaces the video's text vectors of the given sources with
// rows. Run it in a transaction: searches keep seeing the old vectors until
// the new ones commit, so re-indexing never makes a video unsearchable.
func ReplaceText(ctx context.Context, db Execer, ws, video pulid.ID, model string, sources []string, rows []TextRow) error {
	t, err := Table(Text, ws)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %q WHERE video_id = $1 AND source = ANY($2)`, t), video, sources); err != nil {
		return fmt.Errorf("clear text vectors: %w", err)
	}
	cols := []string{"workspace_id", "video_id", "source", "start_seconds", "end_seconds", "content", "model", "embedding"}
	return insert(ctx, db, Text, cols, len(rows), func(i int) ([]float32, []any) {
		r := rows[i]
		return r.Embedding, []any{ws, video, r.Source, r.Start, r.End, r.Content, model}
	})
}

// ReplaceFrames replaces the video's frame vectors with rows; like
// ReplaceText, meant for a transaction.
func ReplaceFrames(ctx context.Context, db Execer, ws, video pulid.ID, model string, rows []FrameRow) error {
	t, err := Table(Frames, ws)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %q WHERE video_id = $1`, t), video); err != nil {
		return fmt.Errorf("clear frame vectors: %w", err)
	}
	cols := []string{"workspace_id", "video_id", "time_seconds", "model", "embedding"}
	return insert(ctx, db, Frames, cols, len(rows), func(i int) ([]float32, []any) {
		r := rows[i]
		return r.Embedding, []any{ws, video, r.Time, model}
	})
}

// insert writes n rows in multi-row INSERTs; row returns a row's embedding
// (nil for none) and its other columns, in cols' order (embedding last). Rows go through
// the parent, which routes them to the workspace's partition: before
// PostgreSQL 17 a partition does not fill the parent's identity column.
func insert(ctx context.Context, db Execer, k Kind, cols []string, n int, row func(int) ([]float32, []any)) error {
	for start := 0; start < n; start += rowsPerInsert {
		end := min(n, start+rowsPerInsert)
		var q strings.Builder
		fmt.Fprintf(&q, "INSERT INTO %q (%s) VALUES ", k.Parent, strings.Join(cols, ", "))
		args := make([]any, 0, (end-start)*len(cols))
		for i := start; i < end; i++ {
			emb, vals := row(i)
			if emb != nil && len(emb) != k.Dims {
				return fmt.Errorf("%s: a vector of %d dimensions, the table holds %d", k.Parent, len(emb), k.Dims)
			}
			if i > start {
				q.WriteString(", ")
			}
			q.WriteByte('(')
			for c := range cols {
				if c > 0 {
					q.WriteString(", ")
				}
				fmt.Fprintf(&q, "$%d", len(args)+c+1)
			}
			q.WriteByte(')')
			var v any // NULL: a passage indexed for its words only
			if emb != nil {
				v = pgvector.NewVector(emb)
			}
			args = append(append(args, vals...), v)
		}
		if _, err := db.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("insert into %s: %w", k.Parent, err)
		}
	}
	return nil
}
