package sphinx

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCleanWord(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"country", "country", true},
		{"for(2)", "for", true},
		{"can(12)", "can", true},
		{"'cause", "'cause", true},
		{"<s>", "", false},
		{"</s>", "", false},
		{"<sil>", "", false},
		{"[NOISE]", "", false},
		{"[SPEECH]", "", false},
		{"++BREATH++", "", false},
	}
	for _, tc := range tests {
		got, ok := cleanWord(tc.in)
		require.Equal(t, tc.ok, ok, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}

func TestParseWords(t *testing.T) {
	t.Parallel()
	// Real output of pocketsphinx_continuous -time yes, with a hypothesis
	// line of exactly four words.
	out := `and not what your
<s> 3.170 3.280 1.000300
and(2) 3.290 3.730 0.985603
<sil> 3.740 3.980 0.828680
not 3.990 4.300 0.817730
[NOISE] 4.310 4.500 0.500000
what 4.510 4.700 0.285662
your 4.710 4.900 0.709042
</s> 4.910 5.000 1.000000
`
	require.Equal(t, []word{
		{"and", 3.29, 3.73}, {"not", 3.99, 4.30}, {"what", 4.51, 4.70}, {"your", 4.71, 4.90},
	}, parseWords([]byte(out)))
}

func TestGroup(t *testing.T) {
	t.Parallel()
	steady := func(n int, gap float64) []word {
		ws := make([]word, n)
		for i := range ws {
			ws[i] = word{text: "w", start: float64(i) * (0.3 + gap), end: float64(i)*(0.3+gap) + 0.3}
		}
		return ws
	}
	tests := []struct {
		name  string
		words []word
		want  []int // words per segment
	}{
		{"none", nil, nil},
		{"one phrase", steady(5, 0.1), []int{5}},
		{"pause splits", []word{{"a", 0, 1}, {"b", 1.1, 2}, {"c", 2.6, 3}, {"d", 3.1, 3.5}}, []int{2, 2}},
		{"short pause does not", []word{{"a", 0, 1}, {"b", 1.5, 2}}, []int{2}},
		{"word cap", steady(45, 0), []int{20, 20, 5}},
		{"duration cap", steady(30, 0.5), []int{15, 15}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			segs := group(tc.words)
			var got []int
			for i, s := range segs {
				got = append(got, len(strings.Fields(s.Text)))
				require.Less(t, s.Start, s.End)
				if i > 0 {
					require.GreaterOrEqual(t, s.Start, segs[i-1].End)
				}
			}
			require.Equal(t, tc.want, got)
		})
	}
}
