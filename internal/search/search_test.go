package search_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/internal/apitest"
	"github.com/vindex/vindex/internal/models/openai/openaitest"
	"github.com/vindex/vindex/internal/search"
	"github.com/vindex/vindex/internal/vectors"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func TestTouchingHitsMergeIntoOneMoment(t *testing.T) {
	t.Parallel()
	b := setupHosted(t)
	ws := b.user.WorkspaceID
	id := b.video(t, ws, t0, []passage{
		{vectors.Speech, 10, 14, "the new bridge budget"},
		{vectors.Screen, 14.5, 20, "NEW BRIDGE BUDGET"},
		{vectors.Speech, 40, 45, "the bridge budget was approved in the end"},
	}, map[float64]string{12: "new bridge budget", 21: "a plate of pasta"})
	other := b.video(t, ws, t0.Add(time.Hour), []passage{{vectors.Speech, 0, 5, "cooking pasta with tomatoes"}}, nil)

	r := b.search(t, b.user.Access, map[string]any{"workspaceId": ws, "query": "new bridge budget"})
	require.Len(t, r.Hits, 2, "%+v", r.Hits)
	first := r.Hits[0]
	require.Equal(t, id, first.Video.ID)
	require.Equal(t, 10.0, first.Start)
	require.Equal(t, 21.0, first.End, "the keyframe at 12 s shows until the next one")
	require.Equal(t, []string{"SPEECH", "VISUAL", "TEXT"}, first.Modalities)
	require.Greater(t, first.Score, 0.9)
	require.LessOrEqual(t, first.Score, 1.0)
	require.NotNil(t, first.Snippet)
	require.Contains(t, strings.ToLower(*first.Snippet), "bridge")
	require.NotNil(t, first.ThumbnailURL)
	require.Contains(t, *first.ThumbnailURL, "new-bridge-budget")
	require.True(t, strings.HasSuffix(first.URL, "#t=10"), first.URL)

	second := r.Hits[1]
	require.Equal(t, id, second.Video.ID)
	require.Equal(t, 40.0, second.Start)
	require.Less(t, second.Score, first.Score)
	for _, h := range r.Hits {
		require.NotEqual(t, other, h.Video.ID, "unrelated passages are noise, not hits")
	}
	require.Positive(t, r.TookMs)
	for _, m := range r.Modalities {
		require.True(t, m.Searched, m.Modality)
		require.NotNil(t, m.Model)
	}
}

func TestFrameMomentLastsUntilNextKeyframe(t *testing.T) {
	t.Parallel()
	b := setupHosted(t)
	ws := b.user.WorkspaceID
	id := b.video(t, ws, t0, nil, map[float64]string{3: "a red bicycle on a beach", 7.5: "a city at night", 20: "a red bicycle in snow"})
	r := b.search(t, b.user.Access, map[string]any{"workspaceId": ws, "query": "a red bicycle on a beach", "modalities": []string{"VISUAL"}})
	require.NotEmpty(t, r.Hits)
	require.Equal(t, id, r.Hits[0].Video.ID)
	require.Equal(t, []string{"VISUAL"}, r.Hits[0].Modalities)
	require.Equal(t, [2]float64{3, 7.5}, [2]float64{r.Hits[0].Start, r.Hits[0].End})
	require.Len(t, r.Modalities, 1)
}

func TestVideoFilter(t *testing.T) {
	t.Parallel()
	b := setupHosted(t)
	ws := b.user.WorkspaceID
	p := []passage{{vectors.Speech, 0, 4, "quarterly sales report"}}
	a := b.video(t, ws, t0, p, nil)
	c := b.video(t, ws, t0.Add(time.Minute), p, nil)
	require.Len(t, b.search(t, b.user.Access, map[string]any{"workspaceId": ws, "query": "quarterly sales report"}).Hits, 2)
	r := b.search(t, b.user.Access, map[string]any{"workspaceId": ws, "query": "quarterly sales report", "videoId": c})
	require.Len(t, r.Hits, 1)
	require.Equal(t, c, r.Hits[0].Video.ID)
	require.NotEqual(t, a, r.Hits[0].Video.ID)

	// Another workspace's video is not found, like any other ID lookup.
	otherWS := b.env.CreateWorkspace(t, b.user.Access, "other")
	foreign := b.video(t, otherWS, t0, p, nil)
	require.Equal(t, []string{"NOT_FOUND"}, b.searchErr(t, b.user.Access, map[string]any{"workspaceId": ws, "query": "sales", "videoId": foreign}))
}

// rankedVideos makes n videos whose passages match "launch plan review"
// less and less well.
func rankedVideos(t *testing.T, b bundle, n int) []string {
	t.Helper()
	filler := []string{"", " today", " today with the team", " today with the whole team", " today with the whole team and guests"}
	var ids []string
	for i := range n {
		content := "launch plan review" + filler[i%len(filler)] + strings.Repeat(" again", i/len(filler))
		ids = append(ids, b.video(t, b.user.WorkspaceID, t0.Add(time.Duration(i)*time.Hour), []passage{{vectors.Speech, 1, 3, content}}, nil))
	}
	return ids
}

func TestPaginationIsStableWithoutGapsOrDuplicates(t *testing.T) {
	t.Parallel()
	b := setupHosted(t)
	ws := b.user.WorkspaceID
	rankedVideos(t, b, 7)
	in := map[string]any{"workspaceId": ws, "query": "launch plan review"}
	all := b.search(t, b.user.Access, in)
	require.Len(t, all.Hits, 7)
	require.Nil(t, all.NextCursor)
	for i := 1; i < len(all.Hits); i++ {
		require.GreaterOrEqual(t, all.Hits[i-1].Score, all.Hits[i].Score)
	}

	var paged []string
	var after any
	for page := 0; ; page++ {
		require.Less(t, page, 5)
		r := b.search(t, b.user.Access, map[string]any{"workspaceId": ws, "query": "launch plan review", "limit": 3, "after": after})
		for _, h := range r.Hits {
			paged = append(paged, h.Video.ID)
		}
		if r.NextCursor == nil {
			require.Len(t, r.Hits, 1)
			break
		}
		require.Len(t, r.Hits, 3)
		after = *r.NextCursor
	}
	var want []string
	for _, h := range all.Hits {
		want = append(want, h.Video.ID)
	}
	require.Equal(t, want, paged)
	again := b.search(t, b.user.Access, in)
	require.Equal(t, all.Hits, again.Hits, "the same search gives the same page")

	// A cursor belongs to its search.
	first := b.search(t, b.user.Access, map[string]any{"workspaceId": ws, "query": "launch plan review", "limit": 3})
	require.Equal(t, []string{"BAD_USER_INPUT"}, b.searchErr(t, b.user.Access,
		map[string]any{"workspaceId": ws, "query": "another query", "limit": 3, "after": *first.NextCursor}))
}

func TestMinScoreAndDateOrder(t *testing.T) {
	t.Parallel()
	b := setupHosted(t)
	ws := b.user.WorkspaceID
	ids := rankedVideos(t, b, 5) // the best match is the oldest
	all := b.search(t, b.user.Access, map[string]any{"workspaceId": ws, "query": "launch plan review"})
	require.Len(t, all.Hits, 5)
	require.Equal(t, ids[0], all.Hits[0].Video.ID)

	cut := (all.Hits[1].Score + all.Hits[2].Score) / 2
	r := b.search(t, b.user.Access, map[string]any{"workspaceId": ws, "query": "launch plan review", "minScore": cut})
	require.Len(t, r.Hits, 2)
	for _, h := range r.Hits {
		require.GreaterOrEqual(t, h.Score, cut)
	}

	r = b.search(t, b.user.Access, map[string]any{"workspaceId": ws, "query": "launch plan review", "minScore": cut, "orderBy": "DATE"})
	require.Equal(t, []string{all.Hits[1].Video.ID, all.Hits[0].Video.ID}, []string{r.Hits[0].Video.ID, r.Hits[1].Video.ID}, "newest first")

	r = b.search(t, b.user.Access, map[string]any{"workspaceId": ws, "query": "launch plan review",
		"uploadedAfter": t0.Add(90 * time.Minute).Format(time.RFC3339), "uploadedBefore": t0.Add(210 * time.Minute).Format(time.RFC3339)})
	require.Len(t, r.Hits, 2)
	require.ElementsMatch(t, []string{ids[2], ids[3]}, []string{r.Hits[0].Video.ID, r.Hits[1].Video.ID})
}

func TestValidation(t *testing.T) {
	t.Parallel()
	b := setupHosted(t)
	ws := b.user.WorkspaceID
	for _, tc := range []struct {
		name string
		in   map[string]any
		code string
	}{
		{"empty", map[string]any{"query": ""}, "BAD_USER_INPUT"},
		{"blank", map[string]any{"query": " \t\n"}, "BAD_USER_INPUT"},
		{"too long", map[string]any{"query": strings.Repeat("é", search.MaxQueryRunes+1)}, "BAD_USER_INPUT"},
		{"limit 0", map[string]any{"query": "x", "limit": 0}, "BAD_USER_INPUT"},
		{"limit 101", map[string]any{"query": "x", "limit": 101}, "BAD_USER_INPUT"},
		{"negative minScore", map[string]any{"query": "x", "minScore": -0.1}, "BAD_USER_INPUT"},
		{"minScore over 1", map[string]any{"query": "x", "minScore": 1.5}, "BAD_USER_INPUT"},
		{"bad cursor", map[string]any{"query": "x", "after": "not a cursor"}, "BAD_USER_INPUT"},
		{"unknown video", map[string]any{"query": "x", "videoId": pulid.New("vid")}, "NOT_FOUND"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.in["workspaceId"] = ws
			require.Equal(t, []string{tc.code}, b.searchErr(t, b.user.Access, tc.in))
		})
	}
	r := b.search(t, b.user.Access, map[string]any{"workspaceId": ws, "query": strings.Repeat("é", search.MaxQueryRunes)})
	require.Empty(t, r.Hits, "a query of exactly the limit is fine")
}

func TestReadTokenCanSearch(t *testing.T) {
	t.Parallel()
	b := setupHosted(t)
	ws := b.user.WorkspaceID
	id := b.video(t, ws, t0, []passage{{vectors.Screen, 0, 9, "SAFETY TRAINING"}}, nil)
	_, secret := b.env.CreateAPIToken(t, b.user.Access, ws, "READ")
	r := b.search(t, secret, map[string]any{"workspaceId": ws, "query": "safety training"})
	require.Len(t, r.Hits, 1)
	require.Equal(t, id, r.Hits[0].Video.ID)
	require.Equal(t, []string{"TEXT"}, r.Hits[0].Modalities)

	// Anonymous callers are turned away.
	require.Equal(t, []string{"UNAUTHENTICATED"}, b.searchErr(t, "", map[string]any{"workspaceId": ws, "query": "safety"}))
}

func TestOtherTenantsNeverSeeHits(t *testing.T) {
	t.Parallel()
	b := setupHosted(t)
	a := b.user
	other := b.env.Signup(t, "other@example.com")
	p := []passage{{vectors.Speech, 0, 4, "confidential merger talks"}}
	mine := b.video(t, a.WorkspaceID, t0, p, map[float64]string{1: "confidential merger talks"})
	theirs := b.video(t, other.WorkspaceID, t0, p, map[float64]string{1: "confidential merger talks"})

	r := b.search(t, other.Access, map[string]any{"workspaceId": other.WorkspaceID, "query": "confidential merger talks"})
	require.Len(t, r.Hits, 1)
	require.Equal(t, theirs, r.Hits[0].Video.ID)
	r = b.search(t, a.Access, map[string]any{"workspaceId": a.WorkspaceID, "query": "confidential merger talks"})
	require.Len(t, r.Hits, 1)
	require.Equal(t, mine, r.Hits[0].Video.ID)

	require.Equal(t, []string{"NOT_FOUND"}, b.searchErr(t, other.Access, map[string]any{"workspaceId": a.WorkspaceID, "query": "merger"}))
	_, secret := b.env.CreateAPIToken(t, other.Access, other.WorkspaceID, "READ")
	require.Equal(t, []string{"NOT_FOUND"}, b.searchErr(t, secret, map[string]any{"workspaceId": a.WorkspaceID, "query": "merger"}))
}

// TestVectorQueriesReadOnlyTheCallersPartition checks the plans: the
// queries name the workspace's partition, so PostgreSQL never opens
// another tenant's rows, and the HNSW index serves them.
func TestVectorQueriesReadOnlyTheCallersPartition(t *testing.T) {
	t.Parallel()
	b := setupHosted(t)
	other := b.env.Signup(t, "other@example.com")
	for _, ws := range []string{b.user.WorkspaceID, other.WorkspaceID} {
		b.video(t, ws, t0, []passage{{vectors.Speech, 0, 4, "hello there"}}, map[float64]string{0: "hello there"})
	}
	ws := pulid.ID(b.user.WorkspaceID)
	textTable, err := vectors.Table(vectors.Text, ws)
	require.NoError(t, err)
	frameTable, err := vectors.Table(vectors.Frames, ws)
	require.NoError(t, err)
	for _, tc := range []struct {
		name, sql, index string
		args             []any
	}{
		{"text", search.TextSQL(textTable, false), textTable + "_hnsw",
			[]any{vecLiteral(vectors.Text.Dims), textModel, vectors.Speech, 100}},
		// Within one video the planner rightly prefers the video index.
		{"text in a video", search.TextSQL(textTable, true), textTable,
			[]any{vecLiteral(vectors.Text.Dims), textModel, vectors.Speech, 100, pulid.New("vid")}},
		{"frames", search.FrameSQL(frameTable, false), frameTable + "_hnsw",
			[]any{vecLiteral(vectors.Frames.Dims), imageModel, 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plan := explain(t, b, tc.sql, tc.args...)
			require.Contains(t, plan, tc.index, plan)
			require.NotContains(t, plan, other.WorkspaceID, plan)
			require.NotContains(t, plan, "on text_embeddings ", plan)
		})
	}
}

func vecLiteral(dims int) string {
	return strings.ReplaceAll(fmt.Sprint(openaitest.TextVector("hello", dims)), " ", ",")
}

// explain returns the plan of q; sequential scans are turned off so the
// plan shows the index a large table would use.
func explain(t *testing.T, b bundle, q string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	tx, err := b.db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback() }()
	_, err = tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off")
	require.NoError(t, err)
	rows, err := tx.QueryContext(ctx, "EXPLAIN "+q, args...)
	require.NoError(t, err)
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		plan.WriteString(line + "\n")
	}
	require.NoError(t, rows.Err())
	return plan.String()
}

func TestWordsFindOnScreenTextWithoutATextModel(t *testing.T) {
	t.Parallel()
	b := setup(t) // no embedders at all
	ws := pulid.ID(b.user.WorkspaceID)
	ctx := apitest.System()
	ent := b.env.App.Store.Ent
	v, err := ent.Video.Create().SetWorkspaceID(ws).SetTitle("slides").SetStorageKey("videos/slides").Save(ctx)
	require.NoError(t, err)
	for i, at := range []float64{0, 4, 9} {
		_, err := ent.Keyframe.Create().SetWorkspaceID(ws).SetVideoID(v.ID).SetOrdinal(i).SetTimeSeconds(at).
			SetBlobKey(fmt.Sprintf("keyframes/%d", i)).SetWidth(640).SetHeight(360).Save(ctx)
		require.NoError(t, err)
	}
	// Without a text embedder, ingest still writes the passages, with no
	// vector (see ingest's embed-text step).
	require.NoError(t, vectors.ReplaceText(ctx, ent, ws, v.ID, "", []string{vectors.Speech, vectors.Screen}, []vectors.TextRow{
		{Source: vectors.Screen, Start: 4, End: 9, Content: "Our REFUND POLICY 42"},
		{Source: vectors.Speech, Start: 0, End: 3, Content: "welcome to the quarterly update"},
	}))

	r := b.search(t, b.user.Access, map[string]any{"workspaceId": string(ws), "query": "refund policies"})
	require.Len(t, r.Hits, 1)
	h := r.Hits[0]
	require.Equal(t, string(v.ID), h.Video.ID)
	require.Equal(t, []string{"TEXT"}, h.Modalities)
	require.Equal(t, [2]float64{4, 9}, [2]float64{h.Start, h.End}, "on screen until the next keyframe")
	require.NotNil(t, h.Snippet)
	require.Contains(t, *h.Snippet, "«REFUND»")
	require.NotNil(t, h.ThumbnailURL)
	require.Contains(t, *h.ThumbnailURL, "keyframes/1")

	r = b.search(t, b.user.Access, map[string]any{"workspaceId": string(ws), "query": "quarterly update"})
	require.Len(t, r.Hits, 1)
	require.Equal(t, []string{"SPEECH"}, r.Hits[0].Modalities)

	require.Len(t, r.Modalities, 3)
	for _, m := range r.Modalities {
		require.False(t, m.Searched, m.Modality)
		require.Nil(t, m.Model)
		require.NotNil(t, m.Reason, m.Modality)
		require.Contains(t, *m.Reason, "none", "the engine's reason: turned off")
	}
}

// TestWordMatching: a passage with any of the query's words is found, ranked
// by the share it has; a quoted phrase and an excluded word hold as written.
func TestWordMatching(t *testing.T) {
	t.Parallel()
	b := setup(t) // words only
	ws := pulid.ID(b.user.WorkspaceID)
	ctx := apitest.System()
	db := b.env.App.Store.Ent
	v, err := db.Video.Create().SetWorkspaceID(ws).SetTitle("talk").SetStorageKey("videos/talk").Save(ctx)
	require.NoError(t, err)
	require.NoError(t, vectors.ReplaceText(ctx, db, ws, v.ID, "", []string{vectors.Speech}, []vectors.TextRow{
		{Source: vectors.Speech, Start: 0, End: 5, Content: "our refund policy changed last year"},
		{Source: vectors.Speech, Start: 20, End: 25, Content: "the policy on remote work"},
		{Source: vectors.Speech, Start: 40, End: 45, Content: "a refund takes ten days"},
		{Source: vectors.Speech, Start: 60, End: 65, Content: "cats and dogs"},
	}))
	starts := func(query string) []float64 {
		r := b.search(t, b.user.Access, map[string]any{"workspaceId": string(ws), "query": query})
		var out []float64
		for _, h := range r.Hits {
			out = append(out, h.Start)
		}
		return out
	}
	got := starts("refund policies")
	require.Len(t, got, 3, "every passage with either word")
	require.Equal(t, 0.0, got[0], "the passage with both words first")
	require.Equal(t, []float64{0}, starts(`"refund policy"`), "a phrase must hold")
	require.ElementsMatch(t, []float64{20}, starts("policy -refund"), "an excluded word excludes")
	require.Empty(t, starts("the and of"), "stop words alone match nothing")
}
