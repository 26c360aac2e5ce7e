package eval_test

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/search/eval"
)

func TestJudge(t *testing.T) {
	t.Parallel()
	c := eval.Case{Query: "q", Modality: "TEXT", Video: "v", At: 10}
	tests := []struct {
		name     string
		hits     []eval.Hit
		rank     int
		startErr float64 // NaN: none
	}{
		{"no hits", nil, 0, math.NaN()},
		{"first", []eval.Hit{{"v", 10, 12}}, 1, 0},
		{"overlaps the tolerance from before", []eval.Hit{{"v", 4, 8}}, 1, 6},
		{"overlaps the tolerance from after", []eval.Hit{{"v", 12, 20}}, 1, 2},
		{"just outside", []eval.Hit{{"v", 12.5, 20}}, 0, 2.5},
		{"other video at the time", []eval.Hit{{"w", 10, 12}, {"v", 9, 11}}, 2, 1},
		{"start error from the first hit on the video", []eval.Hit{{"v", 30, 31}, {"v", 10, 11}}, 2, 20},
		{"start error only from the top 5", []eval.Hit{{"w", 0, 1}, {"w", 0, 1}, {"w", 0, 1}, {"w", 0, 1}, {"w", 0, 1}, {"v", 10, 11}}, 6, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := eval.Judge(c, tt.hits)
			require.Equal(t, tt.rank, o.Rank)
			if math.IsNaN(tt.startErr) {
				require.True(t, math.IsNaN(o.StartError), "start error %v", o.StartError)
			} else {
				require.InDelta(t, tt.startErr, o.StartError, 1e-9)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	outs := []eval.Outcome{
		{Rank: 1, StartError: 0.5},
		{Rank: 2, StartError: 1.5},
		{Rank: 6, StartError: math.NaN()},
		{Rank: 0, StartError: math.NaN()},
	}
	s := eval.Summarize("TEXT", outs)
	require.Equal(t, 4, s.Queries)
	require.InDelta(t, 0.25, s.Recall1, 1e-9)
	require.InDelta(t, 0.5, s.Recall5, 1e-9)
	require.InDelta(t, (1+0.5+1.0/6)/4, s.MRR, 1e-9)
	require.InDelta(t, 1.0, s.MeanStartError, 1e-9)
	require.Equal(t, 2, s.TimedQueries)

	empty := eval.Summarize("VISUAL", nil)
	require.Zero(t, empty.Queries)
	require.True(t, math.IsNaN(empty.MeanStartError))

	var sb strings.Builder
	require.NoError(t, eval.WriteTable(&sb, []eval.Summary{s, empty}))
	lines := strings.Split(strings.TrimRight(sb.String(), "\n"), "\n")
	require.Len(t, lines, 3)
	require.Equal(t, []string{"TEXT", "4", "0.25", "0.50", "0.417", "1.00", "(n=2)"}, strings.Fields(lines[1]))
	require.Equal(t, []string{"VISUAL", "0", "0.00", "0.00", "0.000", "–"}, strings.Fields(lines[2]))
}
