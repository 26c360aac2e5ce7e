// Package onnxgen writes ONNX models from Go. It exists so that tests of the
// model engines can run real graphs through ONNX Runtime on machines where
// no model weights can be downloaded: a test builds a small graph with the
// same input and output names as the real export, writes it, and drives the
// engine end to end.
//
// The protobuf is encoded by hand with protowire (field numbers from
// onnx/onnx.proto), which keeps the generated onnx-go bindings, and their
// size, out of the module. Only what graphs of standard operators need is
// covered: nodes with scalar, list and tensor attributes, initializers,
// typed inputs and outputs with fixed or symbolic dimensions, opset imports
// and metadata_props.
//
//	g := onnxgen.NewGraph("proj")
//	g.Input("x", onnxgen.Float32, "batch", 2)
//	g.Output("y", onnxgen.Float32, "batch", 3)
//	g.Float32Init("W", []float32{1, 2, 3, 4, 5, 6}, 2, 3)
//	g.Node("MatMul", []string{"x", "W"}, []string{"y"})
//	err := onnxgen.Model(g, 17, nil).Write(path)
package onnxgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// ElemType is an ONNX TensorProto.DataType.
type ElemType int32

// The element types tests need; the values are ONNX's.
const (
	Float32 ElemType = 1
	Uint8   ElemType = 2
	Int8    ElemType = 3
	Int32   ElemType = 6
	Int64   ElemType = 7
	Bool    ElemType = 9
	Float64 ElemType = 11
)

// ErrInvalid is wrapped by every error that reports a malformed graph.
var ErrInvalid = errors.New("invalid onnx graph")

// Data is a constant tensor: an initializer or a tensor attribute.
type Data struct {
	Type ElemType
	Dims []int64
	raw  []byte // little-endian elements, as TensorProto.raw_data wants
	n    int    // element count, checked against Dims when encoding
}

// Float32Data returns a float32 constant of the given shape (none: scalar).
func Float32Data(v []float32, dims ...int64) Data {
	raw := make([]byte, 0, 4*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
	}
	return Data{Type: Float32, Dims: dims, raw: raw, n: len(v)}
}

// Int64Data returns an int64 constant of the given shape (none: scalar).
func Int64Data(v []int64, dims ...int64) Data {
	raw := make([]byte, 0, 8*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(x))
	}
	return Data{Type: Int64, Dims: dims, raw: raw, n: len(v)}
}

// Int32Data returns an int32 constant of the given shape (none: scalar).
func Int32Data(v []int32, dims ...int64) Data {
	raw := make([]byte, 0, 4*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint32(raw, uint32(x))
	}
	return Data{Type: Int32, Dims: dims, raw: raw, n: len(v)}
}

// BoolData returns a bool constant of the given shape (none: scalar).
func BoolData(v []bool, dims ...int64) Data {
	raw := make([]byte, len(v))
	for i, x := range v {
		if x {
			raw[i] = 1
		}
	}
	return Data{Type: Bool, Dims: dims, raw: raw, n: len(v)}
}

func (d Data) check() error {
	n := int64(1)
	for _, x := range d.Dims {
		if x < 0 {
			return fmt.Errorf("negative dimension in %v", d.Dims)
		}
		n *= x
	}
	if n != int64(d.n) {
		return fmt.Errorf("shape %v holds %d elements, data has %d", d.Dims, n, d.n)
	}
	return nil
}

// Attr is a node attribute; build it with Int, Ints, Float, Floats, String
// or Tensor.
type Attr struct {
	name   string
	typ    int32 // AttributeProto.AttributeType
	f      float32
	i      int64
	s      string
	t      Data
	floats []float32
	ints   []int64
}

// AttributeProto.AttributeType values.
const (
	attrFloat  = 1
	attrInt    = 2
	attrString = 3
	attrTensor = 4
	attrFloats = 6
	attrInts   = 7
)

// Int returns an integer attribute (e.g. keepdims, axis).
func Int(name string, v int64) Attr { return Attr{name: name, typ: attrInt, i: v} }

// Ints returns an integer-list attribute (e.g. axes, perm).
func Ints(name string, v ...int64) Attr { return Attr{name: name, typ: attrInts, ints: v} }

// Float returns a float attribute (e.g. alpha, epsilon).
func Float(name string, v float32) Attr { return Attr{name: name, typ: attrFloat, f: v} }

// Floats returns a float-list attribute.
func Floats(name string, v ...float32) Attr { return Attr{name: name, typ: attrFloats, floats: v} }

// String returns a string attribute (e.g. mode).
func String(name, v string) Attr { return Attr{name: name, typ: attrString, s: v} }

// Tensor returns a tensor attribute, such as Constant's value.
func Tensor(name string, d Data) Attr { return Attr{name: name, typ: attrTensor, t: d} }

// Node is one operator in a graph. Name defaults to op_type plus its index;
// Domain is empty for the standard operator set.
type Node struct {
	Name    string
	Domain  string
	OpType  string
	Inputs  []string
	Outputs []string
	Attrs   []Attr
}

type valueInfo struct {
	name string
	typ  ElemType
	dims []any
}

type initializer struct {
	name string
	data Data
}

// Graph is an ONNX graph under construction. Its methods record; problems
// are reported by Marshal, so a test can build a graph without checking
// every call.
type Graph struct {
	name      string
	nodes     []*Node
	inits     []initializer
	inputs    []valueInfo
	outputs   []valueInfo
	valueInfo []valueInfo
}

// NewGraph returns an empty graph.
func NewGraph(name string) *Graph { return &Graph{name: name} }

// Input declares a graph input. Each dim is an int (fixed) or a string
// (symbolic, e.g. "batch").
func (g *Graph) Input(name string, t ElemType, dims ...any) {
	g.inputs = append(g.inputs, valueInfo{name, t, dims})
}

// Output declares a graph output; dims as for Input.
func (g *Graph) Output(name string, t ElemType, dims ...any) {
	g.outputs = append(g.outputs, valueInfo{name, t, dims})
}

// ValueInfo annotates an intermediate value's type and shape.
func (g *Graph) ValueInfo(name string, t ElemType, dims ...any) {
	g.valueInfo = append(g.valueInfo, valueInfo{name, t, dims})
}

// Init adds an initializer (a named constant, typically a weight).
func (g *Graph) Init(name string, d Data) {
	g.inits = append(g.inits, initializer{name, d})
}

// Float32Init adds a float32 initializer.
func (g *Graph) Float32Init(name string, v []float32, dims ...int64) {
	g.Init(name, Float32Data(v, dims...))
}

// Int64Init adds an int64 initializer.
func (g *Graph) Int64Init(name string, v []int64, dims ...int64) {
	g.Init(name, Int64Data(v, dims...))
}

// Node appends an operator; nodes must be added in topological order, as
// ONNX requires. The returned node may be adjusted (Name, Domain).
func (g *Graph) Node(op string, inputs, outputs []string, attrs ...Attr) *Node {
	n := &Node{
		Name:    fmt.Sprintf("%s_%d", op, len(g.nodes)),
		OpType:  op,
		Inputs:  inputs,
		Outputs: outputs,
		Attrs:   attrs,
	}
	g.nodes = append(g.nodes, n)
	return n
}

// OpsetImport names an operator set the model uses.
type OpsetImport struct {
	Domain  string // "" is the standard ai.onnx set
	Version int64
}

// ModelProto is a graph with the model-level fields ONNX Runtime needs.
type ModelProto struct {
	Graph        *Graph
	IRVersion    int64 // 0: the lowest IR version that carries the standard opset
	Opsets       []OpsetImport
	ProducerName string
	Metadata     map[string]string // metadata_props, read back via ort's Session.Metadata
}

// Model wraps g with the standard operator set at version opset and the
// given metadata_props (may be nil).
func Model(g *Graph, opset int64, metadata map[string]string) *ModelProto {
	return &ModelProto{
		Graph:        g,
		Opsets:       []OpsetImport{{Version: opset}},
		ProducerName: "vindex-onnxgen",
		Metadata:     metadata,
	}
}

// irVersion maps the standard opset to the IR version released with it;
// ONNX Runtime rejects models whose IR version is too old for their opset.
func irVersion(opset int64) int64 {
	switch {
	case opset <= 8:
		return 3
	case opset <= 10:
		return 5
	case opset <= 11:
		return 6
	case opset <= 14:
		return 7
	case opset <= 18:
		return 8
	case opset <= 20:
		return 9
	case opset <= 22:
		return 10
	default:
		return 11
	}
}

// Write marshals the model and writes it to path.
func (m *ModelProto) Write(path string) error {
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write onnx model: %w", err)
	}
	return nil
}

// Marshal encodes the model as an ONNX protobuf. It checks what a typo in a
// test would otherwise turn into an obscure runtime error: initializer
// sizes, dimension kinds, and values used before they are produced.
func (m *ModelProto) Marshal() ([]byte, error) {
	if m.Graph == nil {
		return nil, fmt.Errorf("%w: model has no graph", ErrInvalid)
	}
	if len(m.Opsets) == 0 {
		return nil, fmt.Errorf("%w: model imports no opset", ErrInvalid)
	}
	if err := m.Graph.check(); err != nil {
		return nil, err
	}
	ir := m.IRVersion
	if ir == 0 {
		ir = 3
		for _, o := range m.Opsets {
			if o.Domain == "" || o.Domain == "ai.onnx" {
				ir = irVersion(o.Version)
			}
		}
	}

	var b []byte
	b = appendVarintField(b, 1, uint64(ir))
	if m.ProducerName != "" {
		b = appendStringField(b, 2, m.ProducerName)
	}
	graph, err := m.Graph.marshal()
	if err != nil {
		return nil, err
	}
	b = appendBytesField(b, 7, graph)
	for _, o := range m.Opsets {
		var op []byte
		if o.Domain != "" {
			op = appendStringField(op, 1, o.Domain)
		}
		op = appendVarintField(op, 2, uint64(o.Version))
		b = appendBytesField(b, 8, op)
	}
	// Sorted so that the same model always encodes to the same bytes.
	keys := make([]string, 0, len(m.Metadata))
	for k := range m.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		var e []byte
		e = appendStringField(e, 1, k)
		e = appendStringField(e, 2, m.Metadata[k])
		b = appendBytesField(b, 14, e)
	}
	return b, nil
}

// check verifies that every node input is defined before use; ONNX Runtime
// reports the same mistake, but far from the line that made it.
func (g *Graph) check() error {
	known := map[string]bool{"": true} // "" marks an omitted optional input
	for _, v := range g.inputs {
		known[v.name] = true
	}
	for _, in := range g.inits {
		if err := in.data.check(); err != nil {
			return fmt.Errorf("%w: initializer %q: %w", ErrInvalid, in.name, err)
		}
		known[in.name] = true
	}
	for _, n := range g.nodes {
		for _, in := range n.Inputs {
			if !known[in] {
				return fmt.Errorf("%w: node %s reads %q before it is produced", ErrInvalid, n.Name, in)
			}
		}
		for _, out := range n.Outputs {
			known[out] = true
		}
		for _, a := range n.Attrs {
			if a.typ != attrTensor {
				continue
			}
			if err := a.t.check(); err != nil {
				return fmt.Errorf("%w: node %s attribute %s: %w", ErrInvalid, n.Name, a.name, err)
			}
		}
	}
	for _, v := range g.outputs {
		if !known[v.name] {
			return fmt.Errorf("%w: output %q is never produced", ErrInvalid, v.name)
		}
	}
	return nil
}

func (g *Graph) marshal() ([]byte, error) {
	var b []byte
	for _, n := range g.nodes {
		b = appendBytesField(b, 1, n.marshal())
	}
	b = appendStringField(b, 2, g.name)
	for _, in := range g.inits {
		b = appendBytesField(b, 5, in.data.marshal(in.name))
	}
	for _, group := range []struct {
		field protowire.Number
		vals  []valueInfo
	}{{11, g.inputs}, {12, g.outputs}, {13, g.valueInfo}} {
		for _, v := range group.vals {
			vi, err := v.marshal()
			if err != nil {
				return nil, err
			}
			b = appendBytesField(b, group.field, vi)
		}
	}
	return b, nil
}

func (n *Node) marshal() []byte {
	var b []byte
	for _, in := range n.Inputs {
		b = appendStringField(b, 1, in)
	}
	for _, out := range n.Outputs {
		b = appendStringField(b, 2, out)
	}
	b = appendStringField(b, 3, n.Name)
	b = appendStringField(b, 4, n.OpType)
	for _, a := range n.Attrs {
		b = appendBytesField(b, 5, a.marshal())
	}
	if n.Domain != "" {
		b = appendStringField(b, 7, n.Domain)
	}
	return b
}

func (a Attr) marshal() []byte {
	var b []byte
	b = appendStringField(b, 1, a.name)
	switch a.typ {
	case attrFloat:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.f))
	case attrInt:
		b = appendVarintField(b, 3, uint64(a.i))
	case attrString:
		b = appendStringField(b, 4, a.s)
	case attrTensor:
		b = appendBytesField(b, 5, a.t.marshal(""))
	case attrFloats:
		var packed []byte
		for _, f := range a.floats {
			packed = protowire.AppendFixed32(packed, math.Float32bits(f))
		}
		b = appendBytesField(b, 7, packed)
	case attrInts:
		var packed []byte
		for _, i := range a.ints {
			packed = protowire.AppendVarint(packed, uint64(i))
		}
		b = appendBytesField(b, 8, packed)
	}
	b = appendVarintField(b, 20, uint64(a.typ))
	return b
}

func (d Data) marshal(name string) []byte {
	var b []byte
	for _, x := range d.Dims {
		b = appendVarintField(b, 1, uint64(x))
	}
	b = appendVarintField(b, 2, uint64(d.Type))
	if name != "" {
		b = appendStringField(b, 8, name)
	}
	return appendBytesField(b, 9, d.raw)
}

func (v valueInfo) marshal() ([]byte, error) {
	var shape []byte
	for _, d := range v.dims {
		var dim []byte
		switch d := d.(type) {
		case int:
			dim = appendVarintField(dim, 1, uint64(d))
		case int64:
			dim = appendVarintField(dim, 1, uint64(d))
		case string:
			dim = appendStringField(dim, 2, d)
		default:
			return nil, fmt.Errorf("%w: value %q: dimension %v is %T, want int or string", ErrInvalid, v.name, d, d)
		}
		shape = appendBytesField(shape, 1, dim)
	}
	var tensor []byte
	tensor = appendVarintField(tensor, 1, uint64(v.typ))
	// An empty shape field declares a scalar; leaving it out would mean
	// "rank unknown".
	tensor = appendBytesField(tensor, 2, shape)
	var typ []byte
	typ = appendBytesField(typ, 1, tensor)
	var b []byte
	b = appendStringField(b, 1, v.name)
	return appendBytesField(b, 2, typ), nil
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendStringField(b []byte, num protowire.Number, v string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, v)
}
