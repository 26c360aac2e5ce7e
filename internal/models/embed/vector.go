package embed

import (
	"cmp"
	"math"
	"slices"
)

// meanPool averages the hidden states of one sequence over the positions
// whose attention mask is set, as sentence-transformers' Pooling module does
// (the token count is clamped to 1e-9 there; with [CLS] and [SEP] it is never
// zero). hidden is [seq, dims] row-major; dst has len dims.
func meanPool(dst []float32, hidden []float32, mask []int64, dims int) {
	acc := make([]float64, dims)
	var n float64
	for pos, m := range mask {
		if m == 0 {
			continue
		}
		n++
		for i, v := range hidden[pos*dims : (pos+1)*dims] {
			acc[i] += float64(v)
		}
	}
	n = max(n, 1e-9)
	for i, v := range acc {
		dst[i] = float32(v / n)
	}
}

// normalize scales v to unit L2 length in place, leaving a zero vector zero
// (torch.nn.functional.normalize divides by max(norm, 1e-12)).
func normalize(v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	norm := max(math.Sqrt(ss), 1e-12)
	for i, x := range v {
		v[i] = float32(float64(x) / norm)
	}
}

// lengthOrder returns the indexes of texts sorted, stably, by ascending
// byte length, a cheap stand-in for token count, so batches of neighbours
// pad little.
func lengthOrder(texts []string) []int {
	order := make([]int, len(texts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(texts[a]), len(texts[b])) })
	return order
}

// newVectors returns n vectors of dims floats sharing one allocation; each
// has its capacity clipped so an append by the caller cannot spill into
// its neighbour.
func newVectors(n, dims int) [][]float32 {
	buf := make([]float32, n*dims)
	out := make([][]float32, n)
	for i := range out {
		out[i] = buf[i*dims : (i+1)*dims : (i+1)*dims]
	}
	return out
}
