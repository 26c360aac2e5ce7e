package whisper

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models/whisper/whispertest"
	"github.com/vindex/vindex/internal/testmedia"
)

// Real tiny.en token ids (tiny.en-tokens.txt).
const (
	tokAsk     = 1265 // " ask"
	tokNot     = 407  // " not"
	tokWhat    = 644  // " what"
	tokYour    = 534  // " your"
	tokCountry = 1499 // " country"
	tokThank   = 6952 // " Thank"
	tokYou     = 345  // " you"
	tokDot     = 13   // "."
	tokComma   = 11   // ","
	tokNo      = 645  // " no"

	tokEOT      = 50256
	tokNoSpeech = 50361
	tokNoTS     = 50362
	tokTS0      = 50363 // <|0.00|>
)

// ts returns the timestamp token for sec seconds.
var ts = whispertest.Timestamp

func realVocab(t *testing.T) *vocab {
	t.Helper()
	v, err := loadVocab(testmedia.Model(t, "whisper-tiny.en", "onnx-community", "generation_config.json"))
	require.NoError(t, err)
	return v
}

func TestLoadVocab(t *testing.T) {
	t.Parallel()
	v := realVocab(t)
	require.Equal(t, tokEOT, v.eot)
	require.Equal(t, 50257, v.sot)
	require.Equal(t, tokNoSpeech, v.noSpeech)
	require.Equal(t, tokNoTS, v.noTimestamps)
	require.Equal(t, tokTS0, v.timestampBegin)
	require.Equal(t, 51864, v.size)
	require.Equal(t, 50, v.maxInitialTS)
	require.Equal(t, 448, v.maxTokens)
	require.Equal(t, []int{220, tokEOT}, v.beginSuppress)
	require.Len(t, v.suppress, 90)
	require.Contains(t, v.suppress, tokNoSpeech)
}

func TestApplyRules(t *testing.T) {
	t.Parallel()
	v := realVocab(t)
	allTS := func(val float32) map[int]float32 {
		m := map[int]float32{}
		for tok := tokTS0; tok < v.size; tok++ {
			m[tok] = val
		}
		return m
	}
	cases := []struct {
		name    string
		sampled []int
		logits  map[int]float32 // others are 0
		want    int
	}{
		{"first token is an early timestamp", nil,
			map[int]float32{tokAsk: 20, tokEOT: 20, ts(2): 10, ts(0.5): 5}, ts(0.5)},
		{"text follows the first timestamp", []int{ts(0)},
			map[int]float32{ts(1): 20, tokAsk: 10}, tokAsk},
		{"end of text may follow an opening timestamp", []int{ts(0)},
			map[int]float32{tokEOT: 10, tokAsk: 5}, tokEOT},
		{"a segment ends after it starts", []int{ts(0.2), tokAsk},
			map[int]float32{ts(0.1): 20, ts(0.2): 19, ts(0.4): 18, tokNot: 5}, ts(0.4)},
		{"a closing timestamp is followed by a timestamp", []int{ts(0), tokAsk, ts(0.6)},
			map[int]float32{tokNot: 20, ts(0.6): 5, tokEOT: 3}, ts(0.6)},
		{"or by end of text", []int{ts(0), tokAsk, ts(0.6)},
			map[int]float32{tokNot: 30, ts(0.6): 5, tokEOT: 20}, tokEOT},
		{"a timestamp pair is followed by text", []int{ts(0), tokAsk, ts(0.6), ts(0.6)},
			map[int]float32{ts(1): 20, tokNot: 5}, tokNot},
		{"suppressed tokens never appear", []int{ts(0), tokAsk},
			map[int]float32{1: 20, tokNoSpeech: 20, tokNot: 10}, tokNot},
		{"no <|notimestamps|>", []int{ts(0)},
			map[int]float32{tokNoTS: 30, tokNot: 1}, tokNot},
		{"timestamps win on total mass", []int{ts(0), tokAsk},
			allTS(2), ts(0.02)}, // log(1500·e²) ≈ 9.3 beats the best text logit, 0
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logits := make([]float32, v.size)
			for tok, val := range tc.logits {
				logits[tok] = val
			}
			v.applyRules(logits, tc.sampled)
			require.Equal(t, tc.want, argmax(logits))
		})
	}
}

func TestApplyRulesFirstStepMask(t *testing.T) {
	t.Parallel()
	v := realVocab(t)
	logits := make([]float32, v.size)
	v.applyRules(logits, nil)
	for tok, l := range logits {
		allowed := tok >= tokTS0 && tok <= tokTS0+50
		require.Equal(t, allowed, l == 0, "token %d", tok)
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	v := realVocab(t)
	cases := []struct {
		name    string
		tokens  []int
		frames  int
		want    []span
		advance int
	}{
		{"unfinished segment is decoded again",
			[]int{ts(0), tokAsk, tokNot, ts(3), ts(3.5), tokWhat, ts(12), ts(12), tokYour},
			3000,
			[]span{
				{0, 3, []int{ts(0), tokAsk, tokNot, ts(3)}},
				{3.5, 12, []int{ts(3.5), tokWhat, ts(12)}},
			},
			1200},
		{"a lone final timestamp ends the window",
			[]int{ts(0), tokAsk, ts(2), ts(2), tokNot, ts(5)},
			3000,
			[]span{{0, 2, []int{ts(0), tokAsk, ts(2)}}, {2, 5, []int{ts(2), tokNot, ts(5)}}},
			3000},
		{"one segment closed by a timestamp",
			[]int{ts(0.5), tokAsk, ts(2)},
			1000,
			[]span{{0, 2, []int{ts(0.5), tokAsk, ts(2)}}},
			1000},
		{"no closing timestamp spans the audio in the window",
			[]int{ts(0), tokAsk, tokNot},
			1000,
			[]span{{0, 10, []int{ts(0), tokAsk, tokNot}}},
			1000},
		{"nothing", nil, 3000, []span{{0, 30, nil}}, 3000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spans, advance := v.split(tc.tokens, tc.frames)
			require.Equal(t, tc.advance, advance)
			require.Len(t, spans, len(tc.want))
			for i, w := range tc.want {
				require.InDelta(t, w.start, spans[i].start, 1e-9, "span %d", i)
				require.InDelta(t, w.end, spans[i].end, 1e-9, "span %d", i)
				require.Equal(t, w.tokens, spans[i].tokens, "span %d", i)
			}
		})
	}
}

func repeat(block []int, n int) []int {
	var out []int
	for range n {
		out = append(out, block...)
	}
	return out
}

func TestCutLoop(t *testing.T) {
	t.Parallel()
	v := realVocab(t)
	// A segment loop: the same sentence with timestamps moving on.
	var segLoop []int
	for i := range 7 {
		segLoop = append(segLoop, ts(float64(2*i)), tokThank, tokYou, tokDot, ts(float64(2*i+2)))
	}
	cases := []struct {
		name    string
		sampled []int
		want    []int
		looped  bool
	}{
		{"phrase loop", append([]int{ts(0), tokAsk}, repeat([]int{tokWhat, tokYour}, 10)...),
			[]int{ts(0), tokAsk, tokWhat, tokYour}, true},
		{"segment loop keeps its closing timestamp", segLoop,
			[]int{ts(0), tokThank, tokYou, tokDot, ts(2)}, true},
		{"single token loop", append([]int{ts(0)}, repeat([]int{tokDot}, 20)...),
			[]int{ts(0), tokDot}, true},
		{"a few repeats are speech", append([]int{ts(0)}, repeat([]int{tokNo, tokComma}, 6)...), nil, false},
		{"too short to tell", append([]int{ts(0)}, repeat([]int{tokDot}, 19)...), nil, false},
		{"plain sentence", []int{ts(0), tokAsk, tokNot, tokWhat, tokYour, tokCountry}, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, looped := v.cutLoop(tc.sampled)
			require.Equal(t, tc.looped, looped)
			if !looped {
				tc.want = tc.sampled
			}
			require.Equal(t, tc.want, got)
		})
	}
}
