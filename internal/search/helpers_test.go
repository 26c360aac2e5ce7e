package search_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/internal/apitest"
	"github.com/vindex/vindex/internal/models/openai/openaitest"
	"github.com/vindex/vindex/internal/vectors"
)

// The fake provider's engine IDs, as stored in the vectors' model column.
const (
	textModel  = "openai:text-embedding-3-small/384"
	imageModel = "openai:jina-clip-v2/512"
)

// bundle is a running API with one signed-up user and a direct database
// handle for arranging vectors.
type bundle struct {
	env  *apitest.Env
	user apitest.User
	db   *sql.DB
}

func setup(t *testing.T, opts ...apitest.Option) bundle {
	t.Helper()
	env := apitest.New(t, opts...)
	db, err := sql.Open("pgx", env.DatabaseURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return bundle{env: env, user: env.Signup(t, "searcher@example.com"), db: db}
}

func setupHosted(t *testing.T) bundle {
	t.Helper()
	return setup(t, apitest.WithHosted(openaitest.New(t)))
}

// passage is a text vector to insert; its embedding is the fake provider's.
type passage struct {
	source     string
	start, end float64
	content    string
}

// video creates a video row uploaded at created with the given passages
// (embedded as the fake provider would) and keyframes showing the given
// texts to CLIP (frame time → text).
func (b bundle) video(t *testing.T, ws string, created time.Time, passages []passage, frames map[float64]string) string {
	t.Helper()
	ctx := apitest.System()
	v, err := b.env.App.Store.Ent.Video.Create().SetWorkspaceID(pulid.ID(ws)).SetTitle("video").
		SetStorageKey("videos/" + ws + "/" + created.Format("150405.000")).SetCreatedAt(created).
		SetTextModel(textModel).SetFrameModel(imageModel).Save(ctx)
	require.NoError(t, err)
	rows := make([]vectors.TextRow, len(passages))
	for i, p := range passages {
		rows[i] = vectors.TextRow{Source: p.source, Start: p.start, End: p.end, Content: p.content,
			Embedding: openaitest.TextVector(p.content, vectors.Text.Dims)}
	}
	require.NoError(t, vectors.ReplaceText(ctx, b.db, pulid.ID(ws), v.ID, textModel, []string{vectors.Speech, vectors.Screen}, rows))
	var frows []vectors.FrameRow
	i := 0
	for at, text := range frames {
		frows = append(frows, vectors.FrameRow{Time: at, Embedding: openaitest.TextVector(text, vectors.Frames.Dims)})
		_, err := b.env.App.Store.Ent.Keyframe.Create().SetWorkspaceID(pulid.ID(ws)).SetVideoID(v.ID).SetOrdinal(i).
			SetTimeSeconds(at).SetBlobKey("keyframes/" + string(v.ID) + "/" + strings.ReplaceAll(text, " ", "-")).SetWidth(640).SetHeight(360).Save(ctx)
		require.NoError(t, err)
		i++
	}
	require.NoError(t, vectors.ReplaceFrames(ctx, b.db, pulid.ID(ws), v.ID, imageModel, frows))
	return string(v.ID)
}

const searchQuery = `query($in: SearchInput!) { search(input: $in) { tookMs nextCursor
	hits { video { id } start end score modalities snippet thumbnailUrl url }
	modalities { modality searched model reason } } }`

type hit struct {
	Video        struct{ ID string }
	Start, End   float64
	Score        float64
	Modalities   []string
	Snippet      *string
	ThumbnailURL *string
	URL          string
}

type results struct {
	TookMs     float64
	NextCursor *string
	Hits       []hit
	Modalities []struct {
		Modality      string
		Searched      bool
		Model, Reason *string
	}
}

// search runs a search as token and fails the test on errors.
func (b bundle) search(t *testing.T, token string, in map[string]any) results {
	t.Helper()
	var out struct{ Search results }
	b.env.Do(t, token, searchQuery, map[string]any{"in": in}).Decode(t, &out)
	return out.Search
}

// searchErr runs a search that must fail, and returns its error codes.
func (b bundle) searchErr(t *testing.T, token string, in map[string]any) []string {
	t.Helper()
	r := b.env.Do(t, token, searchQuery, map[string]any{"in": in})
	require.NotEmpty(t, r.Errors, "expected an error")
	return r.Codes()
}
