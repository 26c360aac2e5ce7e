package eval

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// Tolerance is how far, in seconds, a hit may sit from the labelled time and
// still count: moments are cut at keyframes and transcript segments, whose
// boundaries wander by about a second from where a person would put them.
const Tolerance = 2.0

// Case is one labelled query: it should find the moment of Video that
// starts at At seconds, through Modality.
type Case struct {
	Query    string
	Modality string
	Video    string
	At       float64
	// Words is how many of the query's content words the moment's text
	// shares (WordsAll, WordsSome, WordsNone), for text and speech.
	// Word-matching search and bag-of-words embedders can only find the
	// first two; a sentence model should find all three.
	Words string
}

// Word overlap of a Case.
const (
	WordsAll  = "all words shared"
	WordsSome = "some words shared"
	WordsNone = "no word shared"
)

// Hit is one ranked search result.
type Hit struct {
	Video      string
	Start, End float64
}

// right reports whether h is the labelled moment: the same video, and its
// span overlaps [At−Tolerance, At+Tolerance].
func (c Case) right(h Hit) bool {
	return h.Video == c.Video && h.Start <= c.At+Tolerance && h.End >= c.At-Tolerance
}

// Outcome is how one query fared.
type Outcome struct {
	Case
	// Rank is the 1-based rank of the first right hit, 0 if none was
	// returned.
	Rank int
	// StartError is |start − At| of the best-ranked hit on the right video
	// within the top 5, whether or not it counts as right; NaN without one.
	StartError float64
}

// Judge ranks hits (best first) against c.
func Judge(c Case, hits []Hit) Outcome {
	o := Outcome{Case: c, StartError: math.NaN()}
	for i, h := range hits {
		if h.Video == c.Video && i < 5 && math.IsNaN(o.StartError) {
			o.StartError = math.Abs(h.Start - c.At)
		}
		if o.Rank == 0 && c.right(h) {
			o.Rank = i + 1
		}
	}
	return o
}

// Summary aggregates outcomes.
type Summary struct {
	Name           string
	Queries        int
	Recall1        float64
	Recall5        float64
	MRR            float64
	MeanStartError float64 // seconds, over the queries with a hit on the right video; NaN if none
	TimedQueries   int     // how many queries MeanStartError averages
}

// Summarize aggregates outs under name.
func Summarize(name string, outs []Outcome) Summary {
	s := Summary{Name: name, Queries: len(outs), MeanStartError: math.NaN()}
	if len(outs) == 0 {
		return s
	}
	var errSum float64
	for _, o := range outs {
		if o.Rank == 1 {
			s.Recall1++
		}
		if o.Rank >= 1 && o.Rank <= 5 {
			s.Recall5++
		}
		if o.Rank > 0 {
			s.MRR += 1 / float64(o.Rank)
		}
		if !math.IsNaN(o.StartError) {
			errSum += o.StartError
			s.TimedQueries++
		}
	}
	n := float64(len(outs))
	s.Recall1, s.Recall5, s.MRR = s.Recall1/n, s.Recall5/n, s.MRR/n
	if s.TimedQueries > 0 {
		s.MeanStartError = errSum / float64(s.TimedQueries)
	}
	return s
}

// WriteTable writes summaries as an aligned text table.
func WriteTable(w io.Writer, sums []Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tqueries\trecall@1\trecall@5\tMRR\t|start error| s\t")
	for _, s := range sums {
		startErr := "–"
		if !math.IsNaN(s.MeanStartError) {
			startErr = fmt.Sprintf("%.2f (n=%d)", s.MeanStartError, s.TimedQueries)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.3f\t%s\t\n", s.Name, s.Queries, s.Recall1, s.Recall5, s.MRR, startErr)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}
