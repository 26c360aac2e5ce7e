// Package search finds the moments of a workspace's videos that match a
// natural-language query. It embeds the query with the current engines,
// asks the workspace's own pgvector partitions for the nearest transcript
// passages, on-screen text and keyframes, matches the words with
// PostgreSQL full-text search, fuses the lists into calibrated 0–1 scores
// (see score.go) and merges touching hits of a video into moments.
package search

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/keyframe"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/role"
	"github.com/vindex/vindex/ent/video"
	"github.com/vindex/vindex/internal/apperr"
	"github.com/vindex/vindex/internal/auth"
	"github.com/vindex/vindex/internal/models/engine"
)

// Modality is what a hit matched: what is said, seen, or written on screen.
type Modality string

const (
	Speech Modality = "SPEECH"
	Visual Modality = "VISUAL"
	Text   Modality = "TEXT" // on-screen text (OCR)
)

// Modalities lists every modality in the order results report them.
var Modalities = []Modality{Speech, Visual, Text}

// MarshalGQL implements graphql.Marshaler.
func (m Modality) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(m))) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (m *Modality) UnmarshalGQL(v any) error {
	s, _ := v.(string)
	if !slices.Contains(Modalities, Modality(s)) {
		return fmt.Errorf("%q is not a valid Modality", v)
	}
	*m = Modality(s)
	return nil
}

// Order is how hits are sorted.
type Order string

const (
	ByRelevance Order = "RELEVANCE"
	ByDate      Order = "DATE" // newest upload first, after the minScore cut-off
)

// MarshalGQL implements graphql.Marshaler.
func (o Order) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(o))) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (o *Order) UnmarshalGQL(v any) error {
	s, _ := v.(string)
	if Order(s) != ByRelevance && Order(s) != ByDate {
		return fmt.Errorf("%q is not a valid SearchOrder", v)
	}
	*o = Order(s)
	return nil
}

// Input is one search request (GraphQL SearchInput).
type Input struct {
	WorkspaceID    pulid.ID
	Query          string
	VideoID        *pulid.ID
	Modalities     []Modality // nil: all
	Limit          *int
	After          *string
	MinScore       *float64
	OrderBy        *Order
	UploadedAfter  *time.Time
	UploadedBefore *time.Time
}

// Results is one page of hits.
type Results struct {
	Hits       []*Hit
	TookMs     float64
	NextCursor *string
	Modalities []*Searched
}

// Hit is one matching moment of a video.
type Hit struct {
	Video        *ent.Video
	Start, End   float64
	Score        float64
	Modalities   []Modality
	Snippet      *string
	ThumbnailURL *string
	URL          string
}

// Searched says whether a modality's vectors were searched and with what
// model, or why not. SPEECH and TEXT words are matched either way.
type Searched struct {
	Modality Modality
	Searched bool
	Model    *string
	Reason   *string
}

// Engines hands out the query embedders (engine.Engines).
type Engines interface {
	TextEmbedder(context.Context) (engine.TextEmbedder, error)
	ImageEmbedder(context.Context) (engine.ImageEmbedder, error)
}

// Signer makes time-limited URLs of blobs (ingest.URLSigner).
type Signer interface {
	URL(key string) string
}

// Service runs searches.
type Service struct {
	db      *ent.Client
	pool    *pgxpool.Pool
	engines Engines
	signer  Signer
	log     *slog.Logger
}

// NewService returns the search service. db reads videos and keyframes
// under the viewer's privacy rules; pool runs the vector and full-text
// queries against the workspace's partitions.
func NewService(db *ent.Client, pool *pgxpool.Pool, engines Engines, signer Signer, log *slog.Logger) *Service {
	return &Service{db: db, pool: pool, engines: engines, signer: signer, log: log}
}

// Limits of a request.
const (
	MaxQueryRunes = 1000
	DefaultLimit  = 20
	MaxLimit      = 100
)

// request is a validated Input.
type request struct {
	ws         pulid.ID
	query      string
	video      pulid.ID // "" for the whole workspace
	modalities []Modality
	limit      int
	offset     int
	minScore   float64
	order      Order
	after      *time.Time
	before     *time.Time
	hash       string
}

func (r request) wants(m Modality) bool { return slices.Contains(r.modalities, m) }

// Search returns one page of the moments matching in.Query. The caller
// needs VIEWER in the workspace (a READ token is enough).
func (s *Service) Search(ctx context.Context, in Input) (*Results, error) {
	began := time.Now()
	if err := auth.RequireRole(ctx, in.WorkspaceID, role.Viewer); err != nil {
		return nil, err
	}
	req, err := validate(in)
	if err != nil {
		return nil, err
	}
	if req.video != "" {
		// The same answer as any other ID lookup for a video the caller
		// cannot see, or one of another workspace.
		ok, err := s.db.Video.Query().Where(video.ID(req.video), video.WorkspaceID(req.ws)).Exist(ctx)
		if err != nil {
			return nil, fmt.Errorf("look up video: %w", err)
		}
		if !ok {
			return nil, apperr.New(apperr.NotFound, "video not found")
		}
	}
	qv, searched, err := s.embed(ctx, req)
	if err != nil {
		return nil, err
	}
	lists, err := s.retrieve(ctx, req, qv)
	if err != nil {
		return nil, err
	}
	moments := merge(fuse(lists))
	videos, err := s.videos(ctx, req, moments)
	if err != nil {
		return nil, err
	}
	moments = slices.DeleteFunc(moments, func(m *moment) bool {
		return m.score < req.minScore || videos[m.video] == nil
	})
	order(moments, req.order, videos)

	page := moments[min(req.offset, len(moments)):min(req.offset+req.limit, len(moments))]
	hits, err := s.hits(ctx, page, videos)
	if err != nil {
		return nil, err
	}
	res := &Results{Hits: hits, Modalities: searched}
	if next := req.offset + req.limit; next < len(moments) {
		c := encodeCursor(next, req.hash)
		res.NextCursor = &c
	}
	took := time.Since(began)
	res.TookMs = float64(took.Microseconds()) / 1000
	s.log.LogAttrs(ctx, slog.LevelDebug, "search", slog.String("workspace", string(req.ws)),
		slog.Int("moments", len(moments)), slog.Int("hits", len(hits)), slog.Duration("took", took))
	return res, nil
}

func validate(in Input) (request, error) {
	r := request{ws: in.WorkspaceID, query: strings.TrimSpace(in.Query), limit: DefaultLimit, order: ByRelevance,
		after: in.UploadedAfter, before: in.UploadedBefore}
	switch {
	case !utf8.ValidString(in.Query):
		return r, apperr.Invalid("query", "the query is not valid UTF-8")
	case r.query == "":
		return r, apperr.Invalid("query", "the query is empty")
	case utf8.RuneCountInString(r.query) > MaxQueryRunes:
		return r, apperr.Invalid("query", "the query is longer than %d characters", MaxQueryRunes)
	}
	if in.VideoID != nil {
		r.video = *in.VideoID
	}
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > MaxLimit {
			return r, apperr.Invalid("limit", "limit must be between 1 and %d", MaxLimit)
		}
		r.limit = *in.Limit
	}
	if in.MinScore != nil {
		if math.IsNaN(*in.MinScore) || *in.MinScore < 0 || *in.MinScore > 1 {
			return r, apperr.Invalid("minScore", "minScore must be between 0 and 1")
		}
		r.minScore = *in.MinScore
	}
	if in.OrderBy != nil {
		r.order = *in.OrderBy
	}
	r.modalities = Modalities
	if len(in.Modalities) > 0 {
		r.modalities = nil
		for _, m := range Modalities {
			if slices.Contains(in.Modalities, m) {
				r.modalities = append(r.modalities, m)
			}
		}
	}
	r.hash = inputHash(r)
	if in.After != nil {
		off, err := decodeCursor(*in.After, r.hash)
		if err != nil {
			return r, apperr.Invalid("after", "the cursor is not one of this search's")
		}
		r.offset = off
	}
	return r, nil
}

// queryVectors are the query's embeddings and the models that made them.
type queryVectors struct {
	text, image           []float32
	textModel, imageModel string
}

// embed embeds the query once per engine the modalities need. A modality
// without an engine is reported, not an error: the others still search.
func (s *Service) embed(ctx context.Context, req request) (queryVectors, []*Searched, error) {
	var qv queryVectors
	var textErr, imageErr error
	g, gctx := errgroup.WithContext(ctx)
	if req.wants(Speech) || req.wants(Text) {
		g.Go(func() error {
			e, err := s.engines.TextEmbedder(gctx)
			if err != nil {
				textErr = err
				return unavailableOK(err)
			}
			vs, err := e.Embed(gctx, []string{req.query})
			if err != nil {
				return fmt.Errorf("embed query with %s: %w", e.ID(), err)
			}
			qv.text, qv.textModel = vs[0], e.ID()
			return nil
		})
	}
	if req.wants(Visual) {
		g.Go(func() error {
			e, err := s.engines.ImageEmbedder(gctx)
			if err != nil {
				imageErr = err
				return unavailableOK(err)
			}
			vs, err := e.EmbedTexts(gctx, []string{req.query})
			if err != nil {
				return fmt.Errorf("embed query with %s: %w", e.ID(), err)
			}
			qv.image, qv.imageModel = vs[0], e.ID()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return qv, nil, err
	}
	var out []*Searched
	for _, m := range req.modalities {
		model, err := qv.textModel, textErr
		if m == Visual {
			model, err = qv.imageModel, imageErr
		}
		sm := &Searched{Modality: m, Searched: model != ""}
		if model != "" {
			sm.Model = &model
		} else if err != nil {
			reason := engine.Reason(err)
			sm.Reason = &reason
		}
		out = append(out, sm)
	}
	return qv, out, nil
}

func unavailableOK(err error) error {
	if errors.Is(err, engine.ErrUnavailable) {
		return nil
	}
	return err
}

// videos loads the moments' videos through the viewer's privacy rules,
// keeping those uploaded in the requested window.
func (s *Service) videos(ctx context.Context, req request, moments []*moment) (map[pulid.ID]*ent.Video, error) {
	ids := make([]pulid.ID, 0, len(moments))
	for _, m := range moments {
		ids = append(ids, m.video)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	q := s.db.Video.Query().Where(video.IDIn(ids...), video.WorkspaceID(req.ws))
	if req.after != nil {
		q.Where(video.CreatedAtGTE(*req.after))
	}
	if req.before != nil {
		q.Where(video.CreatedAtLT(*req.before))
	}
	vs, err := q.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load videos: %w", err)
	}
	out := make(map[pulid.ID]*ent.Video, len(vs))
	for _, v := range vs {
		out[v.ID] = v
	}
	return out, nil
}

// hits turns a page of moments into results with signed URLs; a moment's
// thumbnail is the keyframe nearest the start of its best hit.
func (s *Service) hits(ctx context.Context, page []*moment, videos map[pulid.ID]*ent.Video) ([]*Hit, error) {
	ids := make([]pulid.ID, 0, len(page))
	for _, m := range page {
		ids = append(ids, m.video)
	}
	frames, err := s.db.Keyframe.Query().Where(keyframe.VideoIDIn(ids...)).
		Select(keyframe.FieldVideoID, keyframe.FieldTimeSeconds, keyframe.FieldBlobKey).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load keyframes: %w", err)
	}
	byVideo := map[pulid.ID][]*ent.Keyframe{}
	for _, f := range frames {
		byVideo[f.VideoID] = append(byVideo[f.VideoID], f)
	}
	hits := make([]*Hit, 0, len(page))
	for _, m := range page {
		v := videos[m.video]
		h := &Hit{Video: v, Start: m.start, End: m.end, Score: m.score, Modalities: m.modalities,
			URL: s.signer.URL(v.StorageKey) + "#t=" + strconv.FormatFloat(math.Round(m.start*100)/100, 'f', -1, 64)}
		if m.snippet != "" {
			h.Snippet = &m.snippet
		}
		var best *ent.Keyframe
		for _, f := range byVideo[m.video] {
			if best == nil || math.Abs(f.TimeSeconds-m.at) < math.Abs(best.TimeSeconds-m.at) {
				best = f
			}
		}
		if best != nil {
			u := s.signer.URL(best.BlobKey)
			h.ThumbnailURL = &u
		}
		hits = append(hits, h)
	}
	return hits, nil
}
