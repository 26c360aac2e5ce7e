package embed

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMeanPool(t *testing.T) {
	t.Parallel()
	hidden := []float32{
		1, 2, // position 0
		3, 4, // position 1
		100, 100, // position 2, padding
	}
	dst := make([]float32, 2)
	meanPool(dst, hidden, []int64{1, 1, 0}, 2)
	require.Equal(t, []float32{2, 3}, dst)
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []float32
		want []float32
	}{
		{"scales to unit length", []float32{3, 4}, []float32{0.6, 0.8}},
		{"zero stays zero", []float32{0, 0}, []float32{0, 0}},
		{"already unit", []float32{0, -1}, []float32{0, -1}},
	}
	for _, tt := range tests {
		normalize(tt.in)
		require.InDeltaSlice(t, tt.want, tt.in, 1e-7, tt.name)
	}
}

func TestLengthOrder(t *testing.T) {
	t.Parallel()
	require.Equal(t, []int{1, 3, 0, 2}, lengthOrder([]string{"ccc", "a", "dddd", "b"}))
	require.Empty(t, lengthOrder(nil))
}

func TestNewVectorsIsolated(t *testing.T) {
	t.Parallel()
	v := newVectors(2, 3)
	v[0] = append(v[0], 9) // must reallocate, not write into v[1]
	require.Equal(t, []float32{0, 0, 0}, v[1])
}
