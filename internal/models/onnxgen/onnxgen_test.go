package onnxgen_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/vindex/vindex/internal/models/onnxgen"
	"github.com/vindex/vindex/internal/models/ort"
	"github.com/vindex/vindex/internal/testmedia"
)

// run writes m, runs it through ONNX Runtime and returns its outputs.
func run(t *testing.T, m *onnxgen.ModelProto, in map[string]*ort.Tensor) map[string]*ort.Tensor {
	t.Helper()
	require.NoError(t, ort.Init(testmedia.ORTLib(t)))
	p := filepath.Join(t.TempDir(), "model.onnx")
	require.NoError(t, m.Write(p))
	s, err := ort.Open(p, ort.Options{})
	require.NoError(t, err)
	defer s.Close()
	out, err := s.Run(context.Background(), in)
	require.NoError(t, err)
	return out
}

// Each attribute kind and initializer type, checked by what ONNX Runtime
// computes from it.
func TestModelsRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opset int64
		graph func() *onnxgen.Graph
		in    map[string]*ort.Tensor
		want  map[string]*ort.Tensor
	}{
		{
			name: "float attribute",
			graph: func() *onnxgen.Graph {
				g := onnxgen.NewGraph("leaky")
				g.Input("x", onnxgen.Float32, 2)
				g.Output("y", onnxgen.Float32, 2)
				g.Node("LeakyRelu", []string{"x"}, []string{"y"}, onnxgen.Float("alpha", 0.5))
				return g
			},
			in:   map[string]*ort.Tensor{"x": ort.Float32Tensor([]float32{-4, 3}, 2)},
			want: map[string]*ort.Tensor{"y": ort.Float32Tensor([]float32{-2, 3}, 2)},
		},
		{
			name: "ints attribute",
			graph: func() *onnxgen.Graph {
				g := onnxgen.NewGraph("transpose")
				g.Input("x", onnxgen.Int64, 2, 3)
				g.Output("y", onnxgen.Int64, 3, 2)
				g.Node("Transpose", []string{"x"}, []string{"y"}, onnxgen.Ints("perm", 1, 0))
				return g
			},
			in:   map[string]*ort.Tensor{"x": ort.Int64Tensor([]int64{1, 2, 3, 4, 5, 6}, 2, 3)},
			want: map[string]*ort.Tensor{"y": ort.Int64Tensor([]int64{1, 4, 2, 5, 3, 6}, 3, 2)},
		},
		{
			name: "int attribute",
			graph: func() *onnxgen.Graph {
				g := onnxgen.NewGraph("flatten")
				g.Input("x", onnxgen.Float32, 2, 2, 2)
				g.Output("y", onnxgen.Float32, 2, 4)
				g.Node("Flatten", []string{"x"}, []string{"y"}, onnxgen.Int("axis", 1))
				return g
			},
			in:   map[string]*ort.Tensor{"x": ort.Float32Tensor([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 2, 2)},
			want: map[string]*ort.Tensor{"y": ort.Float32Tensor([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 2, 4)},
		},
		{
			name: "string attribute and int64 initializer",
			graph: func() *onnxgen.Graph {
				g := onnxgen.NewGraph("pad")
				g.Input("x", onnxgen.Float32, 1, 3)
				g.Output("y", onnxgen.Float32, 1, 5)
				g.Int64Init("pads", []int64{0, 1, 0, 1}, 4)
				g.Node("Pad", []string{"x", "pads"}, []string{"y"}, onnxgen.String("mode", "edge"))
				return g
			},
			in:   map[string]*ort.Tensor{"x": ort.Float32Tensor([]float32{1, 2, 3}, 1, 3)},
			want: map[string]*ort.Tensor{"y": ort.Float32Tensor([]float32{1, 1, 2, 3, 3}, 1, 5)},
		},
		{
			name: "floats attribute",
			graph: func() *onnxgen.Graph {
				g := onnxgen.NewGraph("constant floats")
				g.Input("x", onnxgen.Float32, 3)
				g.Output("y", onnxgen.Float32, 3)
				g.Node("Constant", nil, []string{"c"}, onnxgen.Floats("value_floats", 0.25, -1, 8))
				g.Node("Add", []string{"x", "c"}, []string{"y"})
				return g
			},
			in:   map[string]*ort.Tensor{"x": ort.Float32Tensor([]float32{1, 1, 1}, 3)},
			want: map[string]*ort.Tensor{"y": ort.Float32Tensor([]float32{1.25, 0, 9}, 3)},
		},
		{
			name: "tensor attribute, int32 and bool initializers",
			graph: func() *onnxgen.Graph {
				g := onnxgen.NewGraph("where")
				g.Input("x", onnxgen.Int64, 3)
				g.Output("y", onnxgen.Int64, 3)
				g.Init("cond", onnxgen.BoolData([]bool{true, false, true}, 3))
				g.Init("small", onnxgen.Int32Data([]int32{-7, 0, 7}, 3))
				g.Node("Cast", []string{"small"}, []string{"small64"}, onnxgen.Int("to", int64(onnxgen.Int64)))
				g.Node("Constant", nil, []string{"ten"}, onnxgen.Tensor("value", onnxgen.Int64Data([]int64{10})))
				g.Node("Add", []string{"small64", "ten"}, []string{"shifted"})
				g.Node("Where", []string{"cond", "shifted", "x"}, []string{"y"})
				return g
			},
			in:   map[string]*ort.Tensor{"x": ort.Int64Tensor([]int64{100, 200, 300}, 3)},
			want: map[string]*ort.Tensor{"y": ort.Int64Tensor([]int64{3, 200, 17}, 3)},
		},
		{
			name:  "newer opset",
			opset: 21,
			graph: func() *onnxgen.Graph {
				g := onnxgen.NewGraph("reduce")
				g.Input("x", onnxgen.Float32, "n", 2)
				g.Output("y", onnxgen.Float32, "n")
				g.Int64Init("axes", []int64{1}, 1)
				g.Node("ReduceMax", []string{"x", "axes"}, []string{"y"}, onnxgen.Int("keepdims", 0))
				return g
			},
			in:   map[string]*ort.Tensor{"x": ort.Float32Tensor([]float32{1, 5, 7, 2}, 2, 2)},
			want: map[string]*ort.Tensor{"y": ort.Float32Tensor([]float32{5, 7}, 2)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opset := tt.opset
			if opset == 0 {
				opset = 17
			}
			require.Equal(t, tt.want, run(t, onnxgen.Model(tt.graph(), opset, nil), tt.in))
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		model func() *onnxgen.ModelProto
		msg   string
	}{
		{
			name: "initializer size",
			model: func() *onnxgen.ModelProto {
				g := identity()
				g.Float32Init("W", []float32{1, 2, 3}, 2, 2)
				return onnxgen.Model(g, 17, nil)
			},
			msg: `initializer "W": shape [2 2] holds 4 elements, data has 3`,
		},
		{
			name: "negative initializer dimension",
			model: func() *onnxgen.ModelProto {
				g := identity()
				g.Int64Init("axes", nil, -1)
				return onnxgen.Model(g, 17, nil)
			},
			msg: "negative dimension",
		},
		{
			name: "tensor attribute size",
			model: func() *onnxgen.ModelProto {
				g := identity()
				g.Node("Constant", nil, []string{"c"}, onnxgen.Tensor("value", onnxgen.BoolData([]bool{true}, 2)))
				return onnxgen.Model(g, 17, nil)
			},
			msg: "node Constant_1 attribute value: shape [2] holds 2 elements, data has 1",
		},
		{
			name: "value used before produced",
			model: func() *onnxgen.ModelProto {
				g := onnxgen.NewGraph("bad")
				g.Input("x", onnxgen.Float32, 1)
				g.Output("z", onnxgen.Float32, 1)
				g.Node("Relu", []string{"y"}, []string{"z"})
				g.Node("Relu", []string{"x"}, []string{"y"})
				return onnxgen.Model(g, 17, nil)
			},
			msg: `node Relu_0 reads "y" before it is produced`,
		},
		{
			name: "output never produced",
			model: func() *onnxgen.ModelProto {
				g := identity()
				g.Output("logits", onnxgen.Float32, 1)
				return onnxgen.Model(g, 17, nil)
			},
			msg: `output "logits" is never produced`,
		},
		{
			name: "dimension kind",
			model: func() *onnxgen.ModelProto {
				g := onnxgen.NewGraph("bad")
				g.Input("x", onnxgen.Float32, 1.5)
				g.Output("x", onnxgen.Float32, 1.5)
				return onnxgen.Model(g, 17, nil)
			},
			msg: "dimension 1.5 is float64, want int or string",
		},
		{
			name:  "no graph",
			model: func() *onnxgen.ModelProto { return onnxgen.Model(nil, 17, nil) },
			msg:   "no graph",
		},
		{
			name: "no opset",
			model: func() *onnxgen.ModelProto {
				m := onnxgen.Model(identity(), 17, nil)
				m.Opsets = nil
				return m
			},
			msg: "imports no opset",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := tt.model()
			_, err := m.Marshal()
			require.ErrorIs(t, err, onnxgen.ErrInvalid)
			require.Contains(t, err.Error(), tt.msg)
			require.ErrorIs(t, m.Write(filepath.Join(t.TempDir(), "m.onnx")), onnxgen.ErrInvalid)
		})
	}
}

func identity() *onnxgen.Graph {
	g := onnxgen.NewGraph("identity")
	g.Input("x", onnxgen.Float32, "n")
	g.Output("y", onnxgen.Float32, "n")
	g.Node("Identity", []string{"x"}, []string{"y"})
	return g
}

func TestMarshalModelFields(t *testing.T) {
	t.Parallel()
	meta := map[string]string{"b": "2", "a": "1", "c": "3"}
	tests := []struct {
		opset int64
		ir    uint64
	}{{11, 6}, {13, 7}, {17, 8}, {19, 9}, {21, 10}, {23, 11}}
	for _, tt := range tests {
		m := onnxgen.Model(identity(), tt.opset, meta)
		data, err := m.Marshal()
		require.NoError(t, err)
		again, err := m.Marshal()
		require.NoError(t, err)
		require.Equal(t, data, again, "encoding is deterministic")

		var ir uint64
		var producer string
		var keys []string
		for len(data) > 0 {
			num, typ, n := protowire.ConsumeTag(data)
			require.GreaterOrEqual(t, n, 0)
			data = data[n:]
			switch {
			case num == 1 && typ == protowire.VarintType:
				ir, n = protowire.ConsumeVarint(data)
			case num == 2 && typ == protowire.BytesType:
				producer, n = protowire.ConsumeString(data)
			case num == 14 && typ == protowire.BytesType:
				var entry []byte
				entry, n = protowire.ConsumeBytes(data)
				_, _, m := protowire.ConsumeTag(entry)
				key, _ := protowire.ConsumeString(entry[m:])
				keys = append(keys, key)
			default:
				n = protowire.ConsumeFieldValue(num, typ, data)
			}
			require.GreaterOrEqual(t, n, 0)
			data = data[n:]
		}
		require.Equal(t, tt.ir, ir, "opset %d", tt.opset)
		require.Equal(t, "vindex-onnxgen", producer)
		require.Equal(t, []string{"a", "b", "c"}, keys, "metadata sorted by key")
	}
}
