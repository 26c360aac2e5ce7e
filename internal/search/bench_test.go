package search_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"
	pgxvec "github.com/pgvector/pgvector-go/pgx"
	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/video"
	"github.com/vindex/vindex/internal/apitest"
	"github.com/vindex/vindex/internal/models/openai/openaitest"
	"github.com/vindex/vindex/internal/search"
	"github.com/vindex/vindex/internal/testmedia"
	"github.com/vindex/vindex/internal/vectors"
)

// The synthetic corpus. Real embeddings cluster by topic, and HNSW does
// much better on clusters than on uniform noise, so each passage is a
// noisy copy of one of scaleTopics centroids. A topic also has three words
// of its own that every passage of it contains, so the full-text list of
// the resolver has matches to rank, and its centroid leans towards the
// fake provider's embedding of those words, so a query naming the topic
// lands near its cluster as a real query does (cosine ≈ 0.7), not on it.
const (
	scaleTopics      = 1000
	passagesPerVideo = 100
	// screenShare of passages are on-screen text, the rest speech: the
	// TEXT list's filter then keeps a quarter of what the index yields,
	// which makes pgvector's iterative scan go past ef_search.
	screenShare = 0.25
	// clusterNoise puts a passage at cosine ≈ 0.8 from its centroid.
	clusterNoise = 0.75
	// scaleQueries are the queries of one pass, recall@10 is over them.
	scaleQueries = 100
	recallAt     = 10
	// otherShare of the measured workspace's size sits in each of two
	// other workspaces, so the database holds more than one partition.
	otherShare = 10
)

// bench1M turns on the 1 000 000-vector run (~15 min, ~6 GB): make bench
// sets it, a plain go test -bench leaves it out (see README, "Search speed").
const bench1M = "VINDEX_BENCH_1M"

// BenchmarkSearchScale measures search over one workspace holding 10k,
// 100k and (with VINDEX_BENCH_1M=1, as make bench sets) 1M text vectors: HNSW build time,
// recall@10 against exact search, latency percentiles and QPS of the
// vector query alone and of the whole search resolver over GraphQL
// (query embedding by the fake hosted provider included), index size and
// memory. One iteration is one pass of scaleQueries queries on each path.
func BenchmarkSearchScale(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run("size="+strconv.Itoa(n), func(b *testing.B) {
			if n >= 1_000_000 && os.Getenv(bench1M) != "1" {
				b.Skipf("loading and indexing 1M vectors takes ~15 min and ~6 GB of RAM; run it with "+
					"%s=1 go test -run '^$' -bench 'SearchScale/size=1000000' -benchtime 3x -timeout 60m ./internal/search/", bench1M)
			}
			benchScale(b, n)
		})
	}
}

func benchScale(b *testing.B, n int) {
	ctx := b.Context()
	srv := openaitest.New(b)
	env := apitest.New(b, apitest.WithHosted(srv))
	user := env.Signup(b, "bench@example.com")
	ws := pulid.ID(user.WorkspaceID)
	// An API token: an access token would expire during the 1M run.
	_, token := env.CreateAPIToken(b, user.Access, string(ws), "READ")

	conn, err := pgx.Connect(ctx, env.DatabaseURL)
	require.NoError(b, err)
	b.Cleanup(func() { _ = conn.Close(context.Background()) })
	require.NoError(b, pgxvec.RegisterTypes(ctx, conn))

	c := newCorpus(n)
	for i := range 2 {
		other := pulid.ID(env.CreateWorkspace(b, user.Access, fmt.Sprintf("other %d", i)))
		_, _ = loadWorkspace(b, env, conn, c, other, n/otherShare)
	}
	build, idx := loadWorkspace(b, env, conn, c, ws, n)

	queries := c.queries()
	vectorAt := func(efSearch int) func(q string) ([]hitKey, error) {
		return func(q string) ([]hitKey, error) { return vectorQuery(ctx, env, ws, q, efSearch) }
	}
	exact := exactNeighbours(b, env, ws, queries)
	recall := recallOf(b, queries, exact, vectorAt(search.EfSearch))
	// The recall of other ef_search values, to show what the chosen one buys.
	var sweep []string
	for _, ef := range []int{40, 64, 200} {
		sweep = append(sweep, fmt.Sprintf("ef_search=%d: %.3f", ef, recallOf(b, queries, exact, vectorAt(ef))))
	}

	resolver := func(q string) error { return searchHTTP(ctx, env.URL, token, ws, q) }
	var vectorLat, resolverLat []time.Duration
	for b.Loop() {
		for _, q := range queries {
			began := time.Now()
			_, err := vectorAt(search.EfSearch)(q)
			require.NoError(b, err)
			vectorLat = append(vectorLat, time.Since(began))
		}
		for _, q := range queries {
			began := time.Now()
			require.NoError(b, resolver(q))
			resolverLat = append(resolverLat, time.Since(began))
		}
	}
	b.StopTimer()
	vectorQPS := throughput(b, queries, func(q string) error { _, err := vectorAt(search.EfSearch)(q); return err })
	resolverQPS := throughput(b, queries, resolver)

	vp, rp := percentiles(vectorLat), percentiles(resolverLat)
	b.ReportMetric(build.Seconds(), "build-s")
	b.ReportMetric(recall, "recall@10")
	for i, p := range []string{"p50", "p95", "p99"} {
		b.ReportMetric(ms(vp[i]), "vector-"+p+"-ms")
		b.ReportMetric(ms(rp[i]), "resolver-"+p+"-ms")
	}
	b.ReportMetric(vectorQPS, "vector-queries/s")
	b.ReportMetric(resolverQPS, "resolver-queries/s")
	b.ReportMetric(float64(idx.index)/(1<<20), "index-MiB")
	b.ReportMetric(float64(idx.table)/(1<<20), "table-MiB")
	if idx.buildRSS > 0 {
		b.ReportMetric(float64(idx.buildRSS)/(1<<20), "build-backend-peak-RSS-MiB")
	}
	testmedia.ReportPeakRSS(b)

	b.Logf("\n%-8s %-8s %-9s %-22s %-22s %-9s %-9s %-9s\n%-8d %-8.1f %-9.3f %-22s %-22s %-9.0f %-9.0f %-9.0f\nrecall@10 at %s",
		"vectors", "build s", "recall@10", "vector p50/95/99 ms", "resolver p50/95/99 ms", "vector/s", "search/s", "index MiB",
		n, build.Seconds(), recall, triple(vp), triple(rp), vectorQPS, resolverQPS, float64(idx.index)/(1<<20),
		strings.Join(sweep, ", "))
}

// corpus generates the synthetic passages deterministically.
type corpus struct {
	n         int
	centroids [][]float32
}

func newCorpus(n int) *corpus {
	rng := rand.New(rand.NewPCG(1, 2))
	c := &corpus{n: n, centroids: make([][]float32, scaleTopics)}
	for t := range c.centroids {
		words := openaitest.TextVector(topicName(t), vectors.Text.Dims)
		v := gaussian(rng, vectors.Text.Dims)
		for i := range v {
			v[i] += words[i]
		}
		c.centroids[t] = normalize(v)
	}
	return c
}

// topicName is a topic's three words, made-up and distinct per topic so
// full-text search matches exactly its passages.
func topicName(t int) string {
	ws := make([]string, 3)
	for i := range ws {
		ws[i] = pseudoWord(3*t + i)
	}
	return strings.Join(ws, " ")
}

// pseudoWord spells i in consonant-vowel syllables (kadomi, …).
func pseudoWord(i int) string {
	const consonants, vowels = "bdfgklmnprstvz", "aeiou"
	var s strings.Builder
	for range 3 {
		syl := i % (len(consonants) * len(vowels))
		s.WriteByte(consonants[syl/len(vowels)])
		s.WriteByte(vowels[syl%len(vowels)])
		i /= len(consonants) * len(vowels)
	}
	return s.String()
}

// queries are the topic names of the first scaleQueries topics, spread
// over the topics.
func (c *corpus) queries() []string {
	qs := make([]string, scaleQueries)
	for i := range qs {
		qs[i] = topicName(i * scaleTopics / scaleQueries)
	}
	return qs
}

// rows yields n passages of videos: passage i of video i/passagesPerVideo
// starts at 5·(i mod passagesPerVideo) seconds.
func (c *corpus) rows(ws pulid.ID, videos []pulid.ID, n int, seed uint64) pgx.CopyFromSource {
	rng := rand.New(rand.NewPCG(seed, 7))
	i := 0
	return pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		t := rng.IntN(scaleTopics)
		noise := gaussian(rng, vectors.Text.Dims)
		v := make([]float32, vectors.Text.Dims)
		for d := range v {
			v[d] = c.centroids[t][d] + clusterNoise*noise[d]
		}
		source := vectors.Speech
		if rng.Float64() < screenShare {
			source = vectors.Screen
		}
		start := float64(5 * (i % passagesPerVideo))
		content := topicName(t) + " " + pseudoWord(3*scaleTopics+rng.IntN(2000)) + " " + pseudoWord(3*scaleTopics+rng.IntN(2000))
		row := []any{ws, videos[i/passagesPerVideo], source, start, start + 5, content, textModel, pgvector.NewVector(normalize(v))}
		i++
		return row, nil
	})
}

// gaussian is a random direction of unit expected length.
func gaussian(rng *rand.Rand, dims int) []float32 {
	v := make([]float32, dims)
	scale := 1 / math.Sqrt(float64(dims))
	for i := range v {
		v[i] = float32(rng.NormFloat64() * scale)
	}
	return v
}

func normalize(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	norm := float32(math.Sqrt(sum))
	for i := range v {
		v[i] /= norm
	}
	return v
}

// indexStats is what loading a workspace measured.
type indexStats struct {
	index, table int64 // bytes
	buildRSS     int64 // peak RSS of the backend that built the index, 0 if unknown
}

// loadWorkspace creates n/passagesPerVideo videos in ws and copies n
// passages into its text partition, then builds the partition's HNSW index
// the way CreateWorkspace defines it, after the load as one would for a
// bulk import. It returns the build time.
func loadWorkspace(b *testing.B, env *apitest.Env, conn *pgx.Conn, c *corpus, ws pulid.ID, n int) (time.Duration, indexStats) {
	b.Helper()
	ctx := b.Context()
	videos := make([]pulid.ID, 0, (n+passagesPerVideo-1)/passagesPerVideo)
	for len(videos) < cap(videos) {
		batch := make([]*ent.VideoCreate, min(1000, cap(videos)-len(videos)))
		for i := range batch {
			batch[i] = env.App.Store.Ent.Video.Create().SetWorkspaceID(ws).SetTitle("bench").SetStatus(video.StatusSUCCEEDED).
				SetStorageKey(fmt.Sprintf("videos/%s/%d", ws, len(videos)+i)).SetTextModel(textModel)
		}
		vs, err := env.App.Store.Ent.Video.CreateBulk(batch...).Save(apitest.System())
		require.NoError(b, err)
		for _, v := range vs {
			videos = append(videos, v.ID)
		}
	}

	table, err := vectors.Table(vectors.Text, ws)
	require.NoError(b, err)
	var indexName, indexDef string
	require.NoError(b, conn.QueryRow(ctx, `SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i
		JOIN pg_am a ON a.oid = (SELECT relam FROM pg_class WHERE oid = i.indexrelid)
		WHERE indrelid = $1::regclass AND a.amname = 'hnsw'`, pgx.Identifier{table}.Sanitize()).Scan(&indexName, &indexDef))
	_, err = conn.Exec(ctx, "DROP INDEX "+indexName)
	require.NoError(b, err)

	cols := []string{"workspace_id", "video_id", "source", "start_seconds", "end_seconds", "content", "model", "embedding"}
	copied, err := conn.CopyFrom(ctx, pgx.Identifier{vectors.Text.Parent}, cols, c.rows(ws, videos, n, uint64(len(ws))+uint64(n)))
	require.NoError(b, err)
	require.EqualValues(b, n, copied)

	for _, q := range []string{"SET maintenance_work_mem = '4GB'", "SET max_parallel_maintenance_workers = 2"} {
		_, err := conn.Exec(ctx, q)
		require.NoError(b, err)
	}
	began := time.Now()
	_, err = conn.Exec(ctx, indexDef)
	require.NoError(b, err)
	build := time.Since(began)
	_, err = conn.Exec(ctx, "ANALYZE "+pgx.Identifier{table}.Sanitize())
	require.NoError(b, err)

	var st indexStats
	var pid int
	require.NoError(b, conn.QueryRow(ctx, `SELECT pg_relation_size($1::regclass), pg_table_size($2::regclass), pg_backend_pid()`,
		indexName, pgx.Identifier{table}.Sanitize()).Scan(&st.index, &st.table, &pid))
	st.buildRSS = peakRSS(pid)
	return build, st
}

// peakRSS reads a local process's VmHWM; the test cluster runs on this
// machine, and a server elsewhere just leaves the figure out.
func peakRSS(pid int) int64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// searchHTTP runs the search query as a client does. It stays clear of
// require, which must not fail a benchmark from the goroutines of
// throughput.
func searchHTTP(ctx context.Context, url, token string, ws pulid.ID, q string) error {
	body, err := json.Marshal(map[string]any{"query": searchQuery,
		"variables": map[string]any{"in": map[string]any{"workspaceId": string(ws), "query": q}}})
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/graphql", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("search %q: %w", q, err)
	}
	defer resp.Body.Close()
	var out struct {
		Data   struct{ Search results }
		Errors []apitest.Error
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return fmt.Errorf("decode search %q: %w", q, err)
	}
	switch {
	case len(out.Errors) > 0:
		return fmt.Errorf("search %q: %s", q, out.Errors[0].Message)
	case len(out.Data.Search.Hits) == 0:
		return fmt.Errorf("search %q: no hits", q)
	}
	return nil
}

// hitKey identifies a passage: a video's passages start at distinct times.
type hitKey struct {
	video string
	start float64
}

// vectorQuery is the resolver's SPEECH vector query on its own, with the
// resolver's settings and pool, embedded by the fake provider's function.
func vectorQuery(ctx context.Context, env *apitest.Env, ws pulid.ID, q string, efSearch int) ([]hitKey, error) {
	return queryTop(ctx, env, ws, q, []string{
		fmt.Sprintf("SET LOCAL hnsw.ef_search = %d", efSearch),
		"SET LOCAL hnsw.iterative_scan = relaxed_order",
	}, search.Candidates)
}

// exactNeighbours is each query's true top recallAt: the same query with
// index scans off, so PostgreSQL compares the query with every row.
func exactNeighbours(b *testing.B, env *apitest.Env, ws pulid.ID, queries []string) [][]hitKey {
	b.Helper()
	out := make([][]hitKey, len(queries))
	for i, q := range queries {
		keys, err := queryTop(b.Context(), env, ws, q, []string{"SET LOCAL enable_indexscan = off"}, recallAt)
		require.NoError(b, err)
		out[i] = keys
	}
	return out
}

func queryTop(ctx context.Context, env *apitest.Env, ws pulid.ID, q string, settings []string, limit int) ([]hitKey, error) {
	table, err := vectors.Table(vectors.Text, ws)
	if err != nil {
		return nil, err
	}
	tx, err := env.App.Store.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, s := range settings {
		if _, err := tx.Exec(ctx, s); err != nil {
			return nil, fmt.Errorf("configure: %w", err)
		}
	}
	qv := pgvector.NewVector(openaitest.TextVector(q, vectors.Text.Dims))
	rows, err := tx.Query(ctx, search.TextSQL(table, false), qv, textModel, vectors.Speech, limit)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	type scored struct {
		key hitKey
		sim float64
	}
	var hits []scored
	for rows.Next() {
		var h scored
		var end float64
		var content string
		if err := rows.Scan(&h.key.video, &h.key.start, &end, &content, &h.sim); err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Iterative scans in relaxed order may return rows slightly out of
	// order; fusion ranks candidates by similarity, so recall does too.
	slices.SortStableFunc(hits, func(a, b scored) int { return cmp.Compare(b.sim, a.sim) })
	keys := make([]hitKey, len(hits))
	for i, h := range hits {
		keys[i] = h.key
	}
	return keys, nil
}

// recallOf is the share of the exact top recallAt that the approximate
// query's candidates hold among their recallAt most similar.
func recallOf(b *testing.B, queries []string, exact [][]hitKey, approx func(string) ([]hitKey, error)) float64 {
	b.Helper()
	found, total := 0, 0
	for i, q := range queries {
		got, err := approx(q)
		require.NoError(b, err)
		got = got[:min(recallAt, len(got))]
		for _, k := range exact[i] {
			if slices.Contains(got, k) {
				found++
			}
		}
		total += len(exact[i])
	}
	return float64(found) / float64(total)
}

// throughput runs the queries twice over from 2·GOMAXPROCS clients at once
// and returns queries per second.
func throughput(b *testing.B, queries []string, run func(string) error) float64 {
	b.Helper()
	work := make(chan string)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	began := time.Now()
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for q := range work {
				if err := run(q); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for range 2 {
		for _, q := range queries {
			work <- q
		}
	}
	close(work)
	wg.Wait()
	took := time.Since(began)
	select {
	case err := <-errs:
		require.NoError(b, err)
	default:
	}
	return float64(2*len(queries)) / took.Seconds()
}

// percentiles are p50, p95 and p99 (nearest rank).
func percentiles(d []time.Duration) [3]time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	var out [3]time.Duration
	for i, p := range []float64{0.50, 0.95, 0.99} {
		out[i] = s[max(0, int(math.Ceil(p*float64(len(s))))-1)]
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func triple(p [3]time.Duration) string {
	return fmt.Sprintf("%.1f/%.1f/%.1f", ms(p[0]), ms(p[1]), ms(p[2]))
}
