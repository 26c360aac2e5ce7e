package search

import (
	"cmp"
	"slices"

	"github.com/vindex/vindex/ent/schema/pulid"
)

// Scores are calibrated so that minScore means the same for every query,
// which rank-only fusion (reciprocal rank fusion gives the best hit of a
// nonsense query the same score as the best hit of a perfect one) cannot
// give. Each list's raw similarity becomes evidence in 0–1, weighted by how
// much a match in that list says about relevance, and a passage found by
// several lists combines its evidence as a noisy OR:
//
//	evidence(vector) = clamp((cosine − floor) / (ceiling − floor), 0, 1)
//	evidence(words)  = share · (0.5 + 0.5 · ts_rank_cd/(1+ts_rank_cd))
//	score            = 1 − Π over lists (1 − weight · evidence)
//
// Floors and ceilings are where a model's cosine stops meaning anything and
// where it means "the same thing": sentence models score unrelated text
// around 0–0.2 and paraphrases 0.6–0.9; CLIP's text-to-image cosines are
// compressed into roughly 0.15–0.35. A word match is strong but not
// conclusive evidence on its own, in proportion to the share of the query's
// words (after stemming and stop words) the passage has: a paraphrase that
// shares one word of three is found, below the passage that has them all.
// The constants are starting points for the evaluation of issue 5 §3.
type calibration struct{ floor, ceiling, weight float64 }

var (
	vectorCalibration = map[Modality]calibration{
		Speech: {floor: 0.25, ceiling: 0.85, weight: 1.0},
		Text:   {floor: 0.25, ceiling: 0.85, weight: 0.9}, // OCR text is noisier than a transcript
		Visual: {floor: 0.18, ceiling: 0.35, weight: 0.85},
	}
	lexicalWeight = 0.7
)

// Scores below noiseFloor are what any query gets from a top-k list and
// are never returned.
const noiseFloor = 0.1

// Hits of a video at most mergeGap seconds apart belong to one moment, if
// the weaker scores at least joinRatio of the moment's best: a strong hit
// should not grow a moment into its weak neighbours.
const (
	mergeGap  = 1.0
	joinRatio = 0.75
)

func clamp01(x float64) float64 { return min(1, max(0, x)) }

// evidence is a retrieved passage's calibrated, weighted evidence.
func evidence(l list, p passage) float64 {
	if l.lexical {
		return lexicalWeight * clamp01(p.share) * (0.5 + 0.5*clamp01(p.sim))
	}
	c := vectorCalibration[l.modality]
	return c.weight * clamp01((p.sim-c.floor)/(c.ceiling-c.floor))
}

// scored is a passage with its fused score.
type scored struct {
	passage
	score   float64
	snippet string // a word match's headline wins over the plain content
}

type passageKey struct {
	video      pulid.ID
	modality   Modality
	start, end float64
}

// fuse combines the lists' evidence per passage, best first.
func fuse(lists []list) []scored {
	miss := map[passageKey]float64{} // Π (1 − evidence)
	byKey := map[passageKey]*scored{}
	var keys []passageKey
	for _, l := range lists {
		for _, p := range l.hits {
			k := passageKey{p.video, p.modality, p.start, p.end}
			s, ok := byKey[k]
			if !ok {
				s = &scored{passage: p}
				byKey[k], miss[k] = s, 1
				keys = append(keys, k)
			}
			miss[k] *= 1 - evidence(l, p)
			if l.lexical {
				s.snippet = p.text
			}
		}
	}
	out := make([]scored, 0, len(keys))
	for _, k := range keys {
		s := byKey[k]
		s.score = 1 - miss[k]
		if s.score < noiseFloor {
			continue
		}
		if s.snippet == "" && s.modality != Visual {
			s.snippet = s.text
		}
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b scored) int {
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.video, b.video), cmp.Compare(a.start, b.start),
			cmp.Compare(a.end, b.end), cmp.Compare(a.modality, b.modality))
	})
	return out
}

// moment is a stretch of one video made of touching hits.
type moment struct {
	video      pulid.ID
	start, end float64
	score      float64
	modalities []Modality
	snippet    string  // of its best hit with text
	at         float64 // where its best hit starts, for the thumbnail
}

// merge groups best-first hits into moments: a hit touching a moment (gap
// ≤ mergeGap) joins it if strong enough, a weaker hit overlapping one adds
// nothing, and any other hit starts a moment.
func merge(hits []scored) []*moment {
	byVideo := map[pulid.ID][]*moment{}
	var all []*moment
	for _, h := range hits {
		var joined, covered bool
		for _, m := range byVideo[h.video] {
			if h.start > m.end+mergeGap || h.end < m.start-mergeGap {
				continue
			}
			if h.score >= joinRatio*m.score {
				m.start, m.end = min(m.start, h.start), max(m.end, h.end)
				if !slices.Contains(m.modalities, h.modality) {
					m.modalities = append(m.modalities, h.modality)
				}
				if m.snippet == "" {
					m.snippet = h.snippet
				}
				joined = true
				break
			}
			covered = covered || (h.start < m.end && h.end > m.start)
		}
		if joined || covered {
			continue
		}
		m := &moment{video: h.video, start: h.start, end: h.end, score: h.score,
			modalities: []Modality{h.modality}, snippet: h.snippet, at: h.start}
		byVideo[h.video] = append(byVideo[h.video], m)
		all = append(all, m)
	}
	for _, m := range all {
		slices.SortFunc(m.modalities, func(a, b Modality) int {
			return cmp.Compare(slices.Index(Modalities, a), slices.Index(Modalities, b))
		})
	}
	return all
}
