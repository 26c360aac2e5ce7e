package eval_test

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/vindex/vindex/internal/apitest"
	"github.com/vindex/vindex/internal/config"
	"github.com/vindex/vindex/internal/models"
	"github.com/vindex/vindex/internal/models/openai/openaitest"
	"github.com/vindex/vindex/internal/search"
	"github.com/vindex/vindex/internal/search/eval"
	"github.com/vindex/vindex/internal/testmedia"
)

func TestMain(m *testing.M) { apitest.Main(m) }

// ingestTimeout bounds one clip's ingest; they run side by side.
const ingestTimeout = 4 * time.Minute

// hitsPerQuery is how deep MRR looks.
const hitsPerQuery = 10

// engines says which models the eval ingests and searches with.
type engines struct {
	option apitest.Option
	// about describes them for the report.
	about string
}

// hostedEngines is the default: real tesseract OCR, and the hosted test
// provider for speech, text and frames. It transcribes nothing, so it is
// told each clip's known transcript, picked by the audio's length.
func hostedEngines(t *testing.T, clips []clip) engines {
	t.Helper()
	srv := openaitest.New(t)
	srv.TranscriptFunc = func(seconds float64) []models.Segment {
		var best []models.Segment
		bestGap := math.Inf(1)
		for _, c := range clips {
			if gap := math.Abs(c.seconds - seconds); c.script != nil && gap < bestGap {
				best, bestGap = c.script, gap
			}
		}
		return best
	}
	return engines{
		option: apitest.WithConfig(func(c *config.Config) {
			c.Models.Transcriber, c.Models.TextEmbedder, c.Models.ImageEmbedder = "openai", "openai", "openai"
			c.Models.OpenAIBaseURL, c.Models.OpenAIAPIKey = srv.URL(), srv.Key
			c.Models.OpenAIImageModel = "jina-clip-v2"
		}),
		about: "OCR: tesseract (real). Speech: hosted test provider with SCRIPTED transcripts (the known espeak-ng/JFK " +
			"sentences and times), so SPEECH figures measure ranking, not ASR. Text embeddings: the test provider's " +
			"hashed bag of words (word overlap only). Frames: the test provider's image vectors are hashed from bytes " +
			"and unrelated to any text, so VISUAL can only be found through other modalities.",
	}
}

// localEngines are the local Whisper, MiniLM and CLIP, with weights from
// VINDEX_MODEL_MIRROR (and pins from VINDEX_MODEL_CATALOG if set).
func localEngines(t *testing.T) engines {
	t.Helper()
	mirror := os.Getenv("VINDEX_MODEL_MIRROR")
	require.NotEmpty(t, mirror, "VINDEX_EVAL_MODELS=local needs VINDEX_MODEL_MIRROR pointing at the real weights")
	catalog := os.Getenv("VINDEX_MODEL_CATALOG")
	return engines{
		option: apitest.WithConfig(func(c *config.Config) {
			c.Models.Transcriber, c.Models.TextEmbedder, c.Models.ImageEmbedder = "whisper", "local", "local"
			c.ModelMirror, c.Models.Catalog, c.Models.ORTLib = mirror, catalog, testmedia.ORTLib(t)
		}),
		about: "OCR: tesseract. Speech: local Whisper (real ASR of the espeak-ng and JFK audio). Text: local MiniLM. " +
			"Frames: local CLIP. Mirror: " + mirror,
	}
}

// bench is an API with the set ingested into one workspace.
type bench struct {
	env  *apitest.Env
	user apitest.User
	ids  map[string]string // clip key → video ID
}

// ingest uploads the clips side by side and waits for all of them.
func ingest(t *testing.T, e engines, clips []clip) bench {
	t.Helper()
	env := apitest.New(t, apitest.WithRunner(), e.option)
	b := bench{env: env, user: env.Signup(t, "eval@example.com"), ids: map[string]string{}}
	for _, c := range clips {
		b.ids[c.key] = env.UploadVideo(t, b.user.Access, b.user.WorkspaceID, c.path, c.key)
	}
	var g errgroup.Group
	states := make([]apitest.VideoState, len(clips))
	for i, c := range clips {
		g.Go(func() error {
			states[i] = env.WaitVideo(t, b.user.Access, b.ids[c.key], ingestTimeout, "SUCCEEDED", "FAILED")
			return nil
		})
	}
	require.NoError(t, g.Wait())
	for i, v := range states {
		require.Equal(t, "SUCCEEDED", v.Status, "%s: %s (step %s)", clips[i].key, v.Error, v.FailedStep)
		t.Logf("%s: %d keyframes, OCR %q, transcript %s", clips[i].key, len(v.Keyframes), ocrTexts(v), transcript(v))
	}
	return b
}

func ocrTexts(v apitest.VideoState) []string {
	var out []string
	for _, o := range v.OCR {
		if s := strings.Join(strings.Fields(o.Text), " "); s != "" && (len(out) == 0 || out[len(out)-1] != s) {
			out = append(out, s)
		}
	}
	return out
}

func transcript(v apitest.VideoState) string {
	if v.Transcript == nil {
		return "none"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "by %s:", v.Transcript.Model)
	for _, s := range v.Transcript.Segments {
		fmt.Fprintf(&sb, " [%.1f–%.1f] %s", s.Start, s.End, s.Text)
	}
	return sb.String()
}

const searchQuery = `query($in: SearchInput!) { search(input: $in) {
	hits { video { id } start end score modalities snippet }
	modalities { modality searched model reason } } }`

type searchResults struct {
	Hits []struct {
		Video      struct{ ID string }
		Start, End float64
		Score      float64
		Modalities []string
		Snippet    *string
	}
	Modalities []struct {
		Modality      string
		Searched      bool
		Model, Reason *string
	}
}

// ask runs one case across all modalities of the workspace, as a user
// would, and judges the ranked hits.
func (b bench) ask(t *testing.T, c eval.Case) (eval.Outcome, searchResults) {
	t.Helper()
	var out struct{ Search searchResults }
	b.env.Do(t, b.user.Access, searchQuery, map[string]any{"in": map[string]any{
		"workspaceId": b.user.WorkspaceID, "query": c.Query, "limit": hitsPerQuery}}).Decode(t, &out)
	keys := map[string]string{}
	for k, id := range b.ids {
		keys[id] = k
	}
	hits := make([]eval.Hit, len(out.Search.Hits))
	for i, h := range out.Search.Hits {
		hits[i] = eval.Hit{Video: keys[h.Video.ID], Start: h.Start, End: h.End}
	}
	return eval.Judge(c, hits), out.Search
}

// describe is one line about a case's outcome and its top hit.
func describe(o eval.Outcome, r searchResults) string {
	rank := "miss"
	if o.Rank > 0 {
		rank = fmt.Sprintf("rank %d", o.Rank)
	}
	top := "no hits"
	if len(r.Hits) > 0 {
		h := r.Hits[0]
		snippet := ""
		if h.Snippet != nil {
			snippet = *h.Snippet
		}
		top = fmt.Sprintf("top %.1f–%.1f %.3f %v %q", h.Start, h.End, h.Score, h.Modalities, snippet)
	}
	return fmt.Sprintf("%-6s %-44q want %s@%.1f: %-7s %s", o.Modality, o.Query, o.Video, o.At, rank, top)
}

// searchedWith lists the model each modality was searched with, or why not.
func searchedWith(r searchResults) string {
	var parts []string
	for _, m := range r.Modalities {
		switch {
		case m.Model != nil:
			parts = append(parts, m.Modality+"="+*m.Model)
		case m.Reason != nil:
			parts = append(parts, m.Modality+": words only ("+*m.Reason+")")
		default:
			parts = append(parts, m.Modality+": words only")
		}
	}
	return strings.Join(parts, "; ")
}

// TestEval ingests the whole labelled set and prints the quality table
// (make eval). It is long, so it runs only with VINDEX_EVAL=1.
func TestEval(t *testing.T) {
	t.Parallel()
	if os.Getenv("VINDEX_EVAL") == "" {
		t.Skip("set VINDEX_EVAL=1 (make eval) to run the search quality evaluation")
	}
	clips, cases := labelledSet(t)
	var e engines
	switch m := os.Getenv("VINDEX_EVAL_MODELS"); m {
	case "", "hosted":
		e = hostedEngines(t, clips)
	case "local":
		e = localEngines(t)
	default:
		t.Fatalf("VINDEX_EVAL_MODELS=%q: want hosted or local", m)
	}
	began := time.Now()
	b := ingest(t, e, clips)
	ingested := time.Since(began)

	byModality, byWords := map[string][]eval.Outcome{}, map[string][]eval.Outcome{}
	var all []eval.Outcome
	var lines []string
	var searched string
	for _, c := range cases {
		o, r := b.ask(t, c)
		byModality[c.Modality] = append(byModality[c.Modality], o)
		if c.Words != "" {
			byWords[c.Words] = append(byWords[c.Words], o)
		}
		all = append(all, o)
		lines = append(lines, describe(o, r))
		searched = searchedWith(r)
	}
	var sums []eval.Summary
	for _, m := range search.Modalities {
		sums = append(sums, eval.Summarize(string(m), byModality[string(m)]))
	}
	sums = append(sums, eval.Summarize("overall", all))
	var wordSums []eval.Summary
	for _, w := range []string{eval.WordsAll, eval.WordsSome, eval.WordsNone} {
		wordSums = append(wordSums, eval.Summarize("TEXT+SPEECH, "+w, byWords[w]))
	}

	var sb strings.Builder
	fmt.Fprintf(&sb, "\nSearch quality: %d queries over %d clips (ingested in %s)\nModels: %s\nSearched with: %s\n\n",
		len(cases), len(clips), ingested.Round(time.Second), e.about, searched)
	for _, l := range lines {
		sb.WriteString(l + "\n")
	}
	sb.WriteString("\n")
	require.NoError(t, eval.WriteTable(&sb, sums))
	sb.WriteString("\nBy the words a query shares with the moment's text:\n")
	require.NoError(t, eval.WriteTable(&sb, wordSums))
	fmt.Fprintf(&sb, "A hit is right when it is on the labelled video and overlaps the labelled time ±%g s; start error is of the best-ranked hit on the right video in the top 5.\n", eval.Tolerance)
	fmt.Print(sb.String())
}

// TestEvalSmoke is the short version that make test runs: the slides clip
// with the hosted test provider, and on-screen text queries that share a
// word with the slide they mean, which must all be in the top 5.
func TestEvalSmoke(t *testing.T) {
	t.Parallel()
	c := slidesClip(t, cacheDir(t))
	b := ingest(t, hostedEngines(t, nil), []clip{c})
	var outs []eval.Outcome
	for _, q := range textCases[:3] { // every word on the slide
		o, r := b.ask(t, q)
		t.Log(describe(o, r))
		outs = append(outs, o)
	}
	s := eval.Summarize("TEXT", outs)
	require.Equal(t, 1.0, s.Recall5, "%+v", outs)
}
