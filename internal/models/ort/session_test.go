package ort_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/vindex/vindex/internal/models/onnxgen"
	"github.com/vindex/vindex/internal/models/ort"
)

// projection is y = x·W + B with W = [[1 0 1] [0 1 1]] and B = 0.5.
func projection() *onnxgen.Graph {
	g := onnxgen.NewGraph("projection")
	g.Input("x", onnxgen.Float32, "batch", 2)
	g.Output("y", onnxgen.Float32, "batch", 3)
	g.Output("xw", onnxgen.Float32, "batch", 3)
	g.Float32Init("W", []float32{1, 0, 1, 0, 1, 1}, 2, 3)
	g.Float32Init("B", []float32{0.5, 0.5, 0.5}, 3)
	g.Node("MatMul", []string{"x", "W"}, []string{"xw"})
	g.Node("Add", []string{"xw", "B"}, []string{"y"})
	return g
}

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		graph func() *onnxgen.Graph
		in    map[string]*ort.Tensor
		want  map[string]*ort.Tensor
	}{
		{
			name:  "matmul add",
			graph: projection,
			in:    map[string]*ort.Tensor{"x": ort.Float32Tensor([]float32{1, 2, 3, 4}, 2, 2)},
			want: map[string]*ort.Tensor{
				"y":  ort.Float32Tensor([]float32{1.5, 2.5, 3.5, 3.5, 4.5, 7.5}, 2, 3),
				"xw": ort.Float32Tensor([]float32{1, 2, 3, 3, 4, 7}, 2, 3),
			},
		},
		{
			name: "gather embeddings",
			graph: func() *onnxgen.Graph {
				g := onnxgen.NewGraph("test")
				g.Input("ids", onnxgen.Int64, "batch", "seq")
				g.Output("emb", onnxgen.Float32, "batch", "seq", 2)
				g.Float32Init("table", []float32{0, 1, 10, 11, 20, 21, 30, 31}, 4, 2)
				g.Node("Gather", []string{"table", "ids"}, []string{"emb"}, onnxgen.Int("axis", 0))
				return g
			},
			in:   map[string]*ort.Tensor{"ids": ort.Int64Tensor([]int64{3, 0, 2}, 1, 3)},
			want: map[string]*ort.Tensor{"emb": ort.Float32Tensor([]float32{30, 31, 0, 1, 20, 21}, 1, 3, 2)},
		},
		{
			// Whisper's first decoder step: the past key/value cache is empty.
			name: "concat onto empty past",
			graph: func() *onnxgen.Graph {
				g := onnxgen.NewGraph("test")
				g.Input("past", onnxgen.Float32, 1, 2, "past_len", 3)
				g.Input("new", onnxgen.Float32, 1, 2, 1, 3)
				g.Output("present", onnxgen.Float32, 1, 2, "len", 3)
				g.Output("past_copy", onnxgen.Float32, 1, 2, "past_len", 3)
				g.Node("Concat", []string{"past", "new"}, []string{"present"}, onnxgen.Int("axis", 2))
				g.Node("Identity", []string{"past"}, []string{"past_copy"})
				return g
			},
			in: map[string]*ort.Tensor{
				"past": ort.Float32Tensor(nil, 1, 2, 0, 3),
				"new":  ort.Float32Tensor([]float32{1, 2, 3, 4, 5, 6}, 1, 2, 1, 3),
			},
			want: map[string]*ort.Tensor{
				"present":   ort.Float32Tensor([]float32{1, 2, 3, 4, 5, 6}, 1, 2, 1, 3),
				"past_copy": ort.Float32Tensor([]float32{}, 1, 2, 0, 3),
			},
		},
		{
			name: "reduce mean over an axis",
			graph: func() *onnxgen.Graph {
				g := onnxgen.NewGraph("test")
				g.Input("x", onnxgen.Float32, "batch", 3)
				g.Output("mean", onnxgen.Float32, "batch")
				g.Node("ReduceMean", []string{"x"}, []string{"mean"}, onnxgen.Ints("axes", 1), onnxgen.Int("keepdims", 0))
				return g
			},
			in:   map[string]*ort.Tensor{"x": ort.Float32Tensor([]float32{1, 2, 3, 4, 5, 9}, 2, 3)},
			want: map[string]*ort.Tensor{"mean": ort.Float32Tensor([]float32{2, 6}, 2)},
		},
		{
			name: "scalar in and out",
			graph: func() *onnxgen.Graph {
				g := onnxgen.NewGraph("test")
				g.Input("x", onnxgen.Float32, 3)
				g.Input("scale", onnxgen.Float32)
				g.Output("scaled", onnxgen.Float32, 3)
				g.Output("total", onnxgen.Float32)
				g.Node("Mul", []string{"x", "scale"}, []string{"scaled"})
				g.Node("ReduceSum", []string{"scaled"}, []string{"total"}, onnxgen.Int("keepdims", 0))
				return g
			},
			in: map[string]*ort.Tensor{
				"x":     ort.Float32Tensor([]float32{1, 2, 3}, 3),
				"scale": ort.Float32Tensor([]float32{2}),
			},
			want: map[string]*ort.Tensor{
				"scaled": ort.Float32Tensor([]float32{2, 4, 6}, 3),
				"total":  ort.Float32Tensor([]float32{12}),
			},
		},
		{
			name: "bool masks",
			graph: func() *onnxgen.Graph {
				g := onnxgen.NewGraph("test")
				g.Input("x", onnxgen.Float32, 4)
				g.Input("keep", onnxgen.Bool, 4)
				g.Output("kept", onnxgen.Bool, 4)
				g.Output("count", onnxgen.Int64)
				g.Init("zero", onnxgen.Float32Data([]float32{0}))
				g.Node("Greater", []string{"x", "zero"}, []string{"positive"})
				g.Node("And", []string{"positive", "keep"}, []string{"kept"})
				g.Node("Cast", []string{"kept"}, []string{"kept_int"}, onnxgen.Int("to", int64(onnxgen.Int64)))
				g.Node("ReduceSum", []string{"kept_int"}, []string{"count"}, onnxgen.Int("keepdims", 0))
				return g
			},
			in: map[string]*ort.Tensor{
				"x":    ort.Float32Tensor([]float32{1, -1, 2, 3}, 4),
				"keep": ort.BoolTensor([]bool{true, true, false, true}, 4),
			},
			want: map[string]*ort.Tensor{
				"kept":  ort.BoolTensor([]bool{true, false, false, true}, 4),
				"count": ort.Int64Tensor([]int64{2}),
			},
		},
		{
			name: "constant tensor attribute",
			graph: func() *onnxgen.Graph {
				g := onnxgen.NewGraph("test")
				g.Input("n", onnxgen.Int64, 2)
				g.Output("sum", onnxgen.Int64, 2)
				g.Node("Constant", nil, []string{"c"}, onnxgen.Tensor("value", onnxgen.Int64Data([]int64{5, -6}, 2)))
				g.Node("Add", []string{"n", "c"}, []string{"sum"})
				return g
			},
			in:   map[string]*ort.Tensor{"n": ort.Int64Tensor([]int64{1, 1}, 2)},
			want: map[string]*ort.Tensor{"sum": ort.Int64Tensor([]int64{6, -5}, 2)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t, tt.graph())
			got, err := s.Run(context.Background(), tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestSessionInfo(t *testing.T) {
	t.Parallel()
	write := setup(t)
	g := projection()
	g.Input("ids", onnxgen.Int64, "batch", "seq")
	g.Input("mask", onnxgen.Bool)
	g.Output("ids_out", onnxgen.Int64, "batch", "seq")
	g.Node("Identity", []string{"ids"}, []string{"ids_out"})
	// An input with an initializer is an optional override, not an input.
	g.Input("B", onnxgen.Float32, 3)
	meta := map[string]string{"vindex.model": "projection", "dims": "3"}
	s, err := ort.Open(write(g, 17, meta), ort.Options{IntraOpThreads: 1, InterOpThreads: 2})
	require.NoError(t, err)
	defer s.Close()

	require.Equal(t, []ort.Info{
		{Name: "x", Type: ort.Float32, Shape: []int64{-1, 2}},
		{Name: "ids", Type: ort.Int64, Shape: []int64{-1, -1}},
		{Name: "mask", Type: ort.Bool, Shape: []int64{}},
	}, s.Inputs(), "initializers W and B are not inputs")
	require.Equal(t, []ort.Info{
		{Name: "y", Type: ort.Float32, Shape: []int64{-1, 3}},
		{Name: "xw", Type: ort.Float32, Shape: []int64{-1, 3}},
		{Name: "ids_out", Type: ort.Int64, Shape: []int64{-1, -1}},
	}, s.Outputs())
	require.Equal(t, meta, s.Metadata())
	got, err := s.Run(context.Background(), map[string]*ort.Tensor{
		"x":    ort.Float32Tensor([]float32{1, 1}, 1, 2),
		"ids":  ort.Int64Tensor([]int64{4}, 1, 1),
		"mask": ort.BoolTensor([]bool{true}),
	}, "y", "ids_out")
	require.NoError(t, err)
	require.Equal(t, map[string]*ort.Tensor{
		"y":       ort.Float32Tensor([]float32{1.5, 1.5, 2.5}, 1, 3),
		"ids_out": ort.Int64Tensor([]int64{4}, 1, 1),
	}, got)

	s.Inputs()[0].Shape[0] = 7
	s.Metadata()["dims"] = "4"
	require.Equal(t, int64(-1), s.Inputs()[0].Shape[0], "Inputs returns a copy")
	require.Equal(t, "3", s.Metadata()["dims"], "Metadata returns a copy")
}

func TestRunSelectedOutputs(t *testing.T) {
	t.Parallel()
	s := open(t, projection())
	in := map[string]*ort.Tensor{"x": ort.Float32Tensor([]float32{1, 2}, 1, 2)}

	got, err := s.Run(context.Background(), in, "xw")
	require.NoError(t, err)
	require.Equal(t, map[string]*ort.Tensor{"xw": ort.Float32Tensor([]float32{1, 2, 3}, 1, 3)}, got)

	_, err = s.Run(context.Background(), in, "y", "logits")
	require.ErrorIs(t, err, ort.ErrUnknownOutput)
	require.Contains(t, err.Error(), `"logits"`)
}

func TestRunInvalidInput(t *testing.T) {
	t.Parallel()
	g := projection()
	g.Input("ids", onnxgen.Int64, 1, "seq")
	g.Output("ids_out", onnxgen.Int64, 1, "seq")
	g.Node("Identity", []string{"ids"}, []string{"ids_out"})
	s := open(t, g)
	x := ort.Float32Tensor([]float32{1, 2}, 1, 2)
	ids := ort.Int64Tensor([]int64{1, 2, 3}, 1, 3)

	tests := []struct {
		name    string
		in      map[string]*ort.Tensor
		message string
	}{
		{"unknown name", map[string]*ort.Tensor{"x": x, "ids": ids, "input_ids": ids}, `unknown input "input_ids"`},
		{"missing input", map[string]*ort.Tensor{"x": x}, `missing input "ids"`},
		{"nil tensor", map[string]*ort.Tensor{"x": x, "ids": nil}, "nil"},
		{"wrong type", map[string]*ort.Tensor{"x": x, "ids": ort.Float32Tensor([]float32{1, 2, 3}, 1, 3)}, "is float32, model wants int64"},
		{"no data", map[string]*ort.Tensor{"x": x, "ids": {Shape: []int64{1, 3}}}, "exactly one data slice"},
		{"two data slices", map[string]*ort.Tensor{"x": x, "ids": {Shape: []int64{1, 1}, Int64: []int64{1}, Bool: []bool{true}}}, "exactly one data slice"},
		{"data shorter than shape", map[string]*ort.Tensor{"x": x, "ids": ort.Int64Tensor([]int64{1, 2}, 1, 3)}, "holds 3 elements, data has 2"},
		{"data longer than shape", map[string]*ort.Tensor{"x": x, "ids": ort.Int64Tensor([]int64{1, 2, 3, 4}, 1, 3)}, "holds 3 elements, data has 4"},
		{"negative dimension", map[string]*ort.Tensor{"x": x, "ids": ort.Int64Tensor([]int64{}, 1, -3)}, "negative dimension"},
		{"wrong rank", map[string]*ort.Tensor{"x": x, "ids": ort.Int64Tensor([]int64{1, 2, 3}, 3)}, "has shape [3], model wants [1 -1]"},
		{"wrong fixed dimension", map[string]*ort.Tensor{"x": ort.Float32Tensor([]float32{1, 2, 3}, 1, 3), "ids": ids}, "has shape [1 3], model wants [-1 2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.Run(context.Background(), tt.in)
			require.ErrorIs(t, err, ort.ErrInvalidInput)
			require.Contains(t, err.Error(), tt.message)
		})
	}
}

// slowGraph chains enough 1024×1024 MatMuls that a run takes far longer
// than the deadlines below on any machine.
func slowGraph() *onnxgen.Graph {
	g := onnxgen.NewGraph("slow")
	g.Input("x", onnxgen.Float32, "batch", 1024)
	g.Float32Init("W", make([]float32, 1024*1024), 1024, 1024)
	prev := "x"
	for i := range 200 {
		out := fmt.Sprintf("h%d", i)
		g.Node("MatMul", []string{prev, "W"}, []string{out})
		prev = out
	}
	g.Output(prev, onnxgen.Float32, "batch", 1024)
	return g
}

func TestRunCancel(t *testing.T) {
	t.Parallel()
	s := open(t, slowGraph())
	in := map[string]*ort.Tensor{"x": ort.Float32Tensor(make([]float32, 256*1024), 256, 1024)}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Run(ctx, in)
	require.ErrorIs(t, err, context.Canceled)

	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = s.Run(ctx, in)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// The session stays usable after a terminated run.
	small := map[string]*ort.Tensor{"x": ort.Float32Tensor(make([]float32, 1024), 1, 1024)}
	got, err := s.Run(context.Background(), small)
	require.NoError(t, err)
	require.Len(t, got, 1)
}

func TestRunConcurrent(t *testing.T) {
	t.Parallel()
	s := open(t, projection())
	var g errgroup.Group
	for i := range 8 {
		g.Go(func() error {
			for j := range 50 {
				v := float32(i*100 + j)
				got, err := s.Run(context.Background(), map[string]*ort.Tensor{"x": ort.Float32Tensor([]float32{v, 1}, 1, 2)}, "y")
				if err != nil {
					return err
				}
				want := []float32{v + 0.5, 1.5, v + 1.5}
				if !slices.Equal(got["y"].Float32, want) {
					return fmt.Errorf("run %d/%d: got %v, want %v", i, j, got["y"].Float32, want)
				}
			}
			return nil
		})
	}
	require.NoError(t, g.Wait())
}

func TestClose(t *testing.T) {
	t.Parallel()
	s, err := ort.Open(setup(t)(projection(), 17, nil), ort.Options{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "second Close")
	_, err = s.Run(context.Background(), map[string]*ort.Tensor{"x": ort.Float32Tensor([]float32{1, 2}, 1, 2)})
	require.ErrorIs(t, err, ort.ErrClosed)
	require.Len(t, s.Inputs(), 1, "descriptions outlive the session")
}
