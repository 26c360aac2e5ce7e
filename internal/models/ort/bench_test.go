package ort_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models/onnxgen"
	"github.com/vindex/vindex/internal/models/ort"
	"github.com/vindex/vindex/internal/testmedia"
)

const (
	benchSeq    = 128
	benchHidden = 384
	benchLayers = 6
)

// encoderGraph is a MiniLM-sized stand-in: six MatMul+Add+Relu layers of
// width 384 over [batch, 128, 384] hidden states (about 0.9 MFLOP per token
// per layer, like a real layer's projections without attention).
func encoderGraph() *onnxgen.Graph {
	g := onnxgen.NewGraph("encoder")
	g.Input("hidden", onnxgen.Float32, "batch", "seq", benchHidden)
	w := make([]float32, benchHidden*benchHidden)
	for i := range w {
		w[i] = float32(i%7-3) / 64
	}
	bias := make([]float32, benchHidden)
	prev := "hidden"
	for l := range benchLayers {
		wName, bName := fmt.Sprintf("w%d", l), fmt.Sprintf("b%d", l)
		g.Float32Init(wName, w, benchHidden, benchHidden)
		g.Float32Init(bName, bias, benchHidden)
		mm, add, out := fmt.Sprintf("mm%d", l), fmt.Sprintf("add%d", l), fmt.Sprintf("h%d", l)
		g.Node("MatMul", []string{prev, wName}, []string{mm})
		g.Node("Add", []string{mm, bName}, []string{add})
		g.Node("Relu", []string{add}, []string{out})
		prev = out
	}
	g.Node("Identity", []string{prev}, []string{"last_hidden_state"})
	g.Output("last_hidden_state", onnxgen.Float32, "batch", "seq", benchHidden)
	return g
}

func BenchmarkRun(b *testing.B) {
	s, err := ort.Open(setup(b)(encoderGraph(), 17, nil), ort.Options{})
	require.NoError(b, err)
	defer s.Close()

	for _, batch := range []int{1, 32} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			n := batch * benchSeq * benchHidden
			data := make([]float32, n)
			for i := range data {
				data[i] = float32(i%11) / 11
			}
			in := map[string]*ort.Tensor{"hidden": ort.Float32Tensor(data, int64(batch), benchSeq, benchHidden)}
			ctx := context.Background()
			for b.Loop() {
				out, err := s.Run(ctx, in)
				if err != nil {
					b.Fatal(err)
				}
				if len(out["last_hidden_state"].Float32) != n {
					b.Fatalf("output has %d values, want %d", len(out["last_hidden_state"].Float32), n)
				}
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N*batch)/sec, "inferences/s")
			b.ReportMetric(float64(b.N)*float64(2*4*n)/1e6/sec, "MB/s") // input + output
			testmedia.ReportPeakRSS(b)
		})
	}
}
