package search

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/internal/vectors"
)

// Retrieval settings. k bounds every list; ef_search must be at least k for
// HNSW to return k rows, and iterative scans keep filtered queries (model,
// video) from coming back short (pgvector ≥ 0.8).
const (
	candidates = 100
	efSearch   = 100
)

// noKeyframeAfter is how long a keyframe is taken to show when no later
// keyframe of its video ends it.
const noKeyframeAfter = 5.0

// passage is one retrieved row: a transcript passage, a stretch of
// on-screen text or a keyframe.
type passage struct {
	video      pulid.ID
	modality   Modality
	start, end float64
	text       string  // content, or a highlighted headline for word matches
	sim        float64 // cosine similarity, or ts_rank_cd normalised to 0–1
	share      float64 // word matches: the share of the query's words found
}

// list is one ranked retrieval: vectors of one modality, or words.
type list struct {
	modality Modality // for vectors
	lexical  bool
	hits     []passage
}

// retrieve runs every list in one read-only transaction.
func (s *Service) retrieve(ctx context.Context, req request, qv queryVectors) ([]list, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("begin search: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, q := range []string{
		fmt.Sprintf("SET LOCAL hnsw.ef_search = %d", efSearch),
		"SET LOCAL hnsw.iterative_scan = relaxed_order",
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("configure search: %w", err)
		}
	}
	var lists []list
	for _, m := range req.modalities {
		var l list
		switch {
		case m == Visual && qv.image != nil:
			l, err = frameList(ctx, tx, req, qv)
		case m != Visual && qv.text != nil:
			l, err = textList(ctx, tx, req, qv, m)
		default:
			continue
		}
		if err != nil {
			return nil, err
		}
		lists = append(lists, l)
	}
	if req.wants(Speech) || req.wants(Text) {
		l, err := lexicalList(ctx, tx, req)
		if err != nil {
			return nil, err
		}
		lists = append(lists, l)
	}
	return lists, nil
}

// sources maps text modalities to text_embeddings.source.
var sources = map[Modality]string{Speech: vectors.Speech, Text: vectors.Screen}

// textSQL is the nearest-neighbour query over one workspace's text
// partition; only that partition is named, so no other tenant's rows can be
// read, and the HNSW index is used for the ORDER BY … LIMIT.
func textSQL(table string, byVideo bool) string {
	q := fmt.Sprintf(`SELECT video_id, start_seconds, end_seconds, content, 1 - (embedding <=> $1::vector)
		FROM %q WHERE model = $2 AND source = $3`, table)
	if byVideo {
		q += ` AND video_id = $5`
	}
	return q + ` ORDER BY embedding <=> $1::vector LIMIT $4`
}

// frameSQL is textSQL for keyframes; a keyframe's moment lasts until the
// next keyframe of its video.
func frameSQL(table string, byVideo bool) string {
	inner := fmt.Sprintf(`SELECT video_id, time_seconds, 1 - (embedding <=> $1::vector) AS sim
		FROM %q WHERE model = $2`, table)
	if byVideo {
		inner += ` AND video_id = $4`
	}
	inner += ` ORDER BY embedding <=> $1::vector LIMIT $3`
	return fmt.Sprintf(`SELECT h.video_id, h.time_seconds,
		coalesce((SELECT min(f.time_seconds) FROM %q f WHERE f.video_id = h.video_id AND f.model = $2 AND f.time_seconds > h.time_seconds),
			h.time_seconds + %g), h.sim
		FROM (%s) h`, table, noKeyframeAfter, inner)
}

func textList(ctx context.Context, tx pgx.Tx, req request, qv queryVectors, m Modality) (list, error) {
	table, err := vectors.Table(vectors.Text, req.ws)
	if err != nil {
		return list{}, err
	}
	args := []any{pgvector.NewVector(qv.text), qv.textModel, sources[m], candidates}
	if req.video != "" {
		args = append(args, req.video)
	}
	rows, err := tx.Query(ctx, textSQL(table, req.video != ""), args...)
	if err != nil {
		return list{}, fmt.Errorf("search %s vectors: %w", m, err)
	}
	l := list{modality: m}
	for rows.Next() {
		p := passage{modality: m}
		if err := rows.Scan(&p.video, &p.start, &p.end, &p.text, &p.sim); err != nil {
			return list{}, fmt.Errorf("read %s vectors: %w", m, err)
		}
		l.hits = append(l.hits, p)
	}
	return l, rows.Err()
}

func frameList(ctx context.Context, tx pgx.Tx, req request, qv queryVectors) (list, error) {
	table, err := vectors.Table(vectors.Frames, req.ws)
	if err != nil {
		return list{}, err
	}
	args := []any{pgvector.NewVector(qv.image), qv.imageModel, candidates}
	if req.video != "" {
		args = append(args, req.video)
	}
	rows, err := tx.Query(ctx, frameSQL(table, req.video != ""), args...)
	if err != nil {
		return list{}, fmt.Errorf("search keyframe vectors: %w", err)
	}
	l := list{modality: Visual}
	for rows.Next() {
		p := passage{modality: Visual}
		if err := rows.Scan(&p.video, &p.start, &p.end, &p.sim); err != nil {
			return list{}, fmt.Errorf("read keyframe vectors: %w", err)
		}
		l.hits = append(l.hits, p)
	}
	return l, rows.Err()
}

// lexicalSQL matches the query's words in the workspace's text partition,
// whose passages have a generated tsvector with a GIN index; passages are
// there with or without a vector, so transcripts and on-screen text are
// always searchable by their words. A passage matches when it has any of
// the query's words (websearch syntax: a "quoted phrase" or -word must hold
// too), and its share of them is returned for scoring. ts_rank_cd's
// normalisation 32 maps the rank to 0–1 (rank/(rank+1)). Passages are a
// sentence or a slide, so the headline is the whole passage with the
// matched words marked «so».
func lexicalSQL(table string, byVideo bool) string {
	videoFilter := ""
	if byVideo {
		videoFilter = " AND video_id = $3"
	}
	return fmt.Sprintf(`WITH words AS (
		SELECT quote_literal(w)::tsquery AS w FROM unnest(tsvector_to_array(to_tsvector('english', $1))) w),
	q AS (
		SELECT coalesce((SELECT string_agg(w::text, ' | ') FROM words), '')::tsquery AS any,
			websearch_to_tsquery('english', $1) AS query,
			(SELECT count(*) FROM words) AS n),
	m AS (
		SELECT video_id, source, start_seconds, end_seconds, content, ts_rank_cd(content_tsv, q.any, 32) AS rank,
			(SELECT count(*) FROM words WHERE content_tsv @@ words.w)::float8 / q.n AS share
		FROM %q, q WHERE content_tsv @@ q.any AND source = ANY($2)%s
			-- a phrase or an excluded word must hold as written
			AND (q.query::text NOT LIKE '%%<->%%' AND q.query::text NOT LIKE '%%!%%' OR content_tsv @@ q.query)
		ORDER BY share DESC, rank DESC, video_id, start_seconds
		LIMIT %d)
	SELECT video_id, source, start_seconds, end_seconds,
		ts_headline('english', content, q.any, 'HighlightAll=true, StartSel=«, StopSel=»'), rank, share
	FROM m, q`, table, videoFilter, candidates)
}

func lexicalList(ctx context.Context, tx pgx.Tx, req request) (list, error) {
	table, err := vectors.Table(vectors.Text, req.ws)
	if err != nil {
		return list{}, err
	}
	var srcs []string
	for _, m := range req.modalities {
		if src, ok := sources[m]; ok {
			srcs = append(srcs, src)
		}
	}
	args := []any{req.query, srcs}
	if req.video != "" {
		args = append(args, req.video)
	}
	rows, err := tx.Query(ctx, lexicalSQL(table, req.video != ""), args...)
	if err != nil {
		return list{}, fmt.Errorf("search words: %w", err)
	}
	l := list{lexical: true}
	for rows.Next() {
		var p passage
		var src string
		if err := rows.Scan(&p.video, &src, &p.start, &p.end, &p.text, &p.sim, &p.share); err != nil {
			return list{}, fmt.Errorf("read word matches: %w", err)
		}
		p.modality = Speech
		if src == vectors.Screen {
			p.modality = Text
		}
		l.hits = append(l.hits, p)
	}
	return l, rows.Err()
}
