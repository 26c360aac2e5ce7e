package ort

import (
	"fmt"
	"math"
)

// ElemType is a tensor element type. The values are ONNX's
// TensorProto.DataType, so they compare directly with what a model declares.
type ElemType int

// Element types. Tensor carries Float32, Int64 and Bool; the others appear
// only in Info, describing models this package can open but not feed.
const (
	Undefined ElemType = 0
	Float32   ElemType = 1
	Uint8     ElemType = 2
	Int8      ElemType = 3
	Int32     ElemType = 6
	Int64     ElemType = 7
	String    ElemType = 8
	Bool      ElemType = 9
	Float16   ElemType = 10
	Float64   ElemType = 11
)

func (t ElemType) String() string {
	switch t {
	case Undefined:
		return "undefined"
	case Float32:
		return "float32"
	case Uint8:
		return "uint8"
	case Int8:
		return "int8"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case String:
		return "string"
	case Bool:
		return "bool"
	case Float16:
		return "float16"
	case Float64:
		return "float64"
	}
	return fmt.Sprintf("onnx type %d", int(t))
}

// Tensor is a dense row-major tensor held in Go memory. Exactly one data
// slice is non-nil; its length is the product of Shape (an empty Shape is a
// scalar holding one element; a zero dimension holds none).
type Tensor struct {
	Shape   []int64
	Float32 []float32
	Int64   []int64
	Bool    []bool
}

// Float32Tensor returns a float32 tensor over data (not copied).
func Float32Tensor(data []float32, shape ...int64) *Tensor {
	if data == nil {
		data = []float32{} // nil would leave the tensor without a type
	}
	return &Tensor{Shape: shape, Float32: data}
}

// Int64Tensor returns an int64 tensor over data (not copied).
func Int64Tensor(data []int64, shape ...int64) *Tensor {
	if data == nil {
		data = []int64{}
	}
	return &Tensor{Shape: shape, Int64: data}
}

// BoolTensor returns a bool tensor over data (not copied).
func BoolTensor(data []bool, shape ...int64) *Tensor {
	if data == nil {
		data = []bool{}
	}
	return &Tensor{Shape: shape, Bool: data}
}

// Type returns the element type, or Undefined unless exactly one data slice
// is set.
func (t *Tensor) Type() ElemType {
	typ, n := Undefined, 0
	if t.Float32 != nil {
		typ, n = Float32, n+1
	}
	if t.Int64 != nil {
		typ, n = Int64, n+1
	}
	if t.Bool != nil {
		typ, n = Bool, n+1
	}
	if n != 1 {
		return Undefined
	}
	return typ
}

// Len returns the number of elements in the data slice.
func (t *Tensor) Len() int {
	return len(t.Float32) + len(t.Int64) + len(t.Bool)
}

// validate checks that t is well formed: one data slice, non-negative
// dimensions, and as many elements as the shape holds.
func (t *Tensor) validate() error {
	if t == nil {
		return fmt.Errorf("tensor is nil")
	}
	if t.Type() == Undefined {
		return fmt.Errorf("tensor must set exactly one data slice")
	}
	n, err := elements(t.Shape)
	if err != nil {
		return err
	}
	if n != int64(t.Len()) {
		return fmt.Errorf("shape %v holds %d elements, data has %d", t.Shape, n, t.Len())
	}
	return nil
}

// elements returns the element count of shape, rejecting negative
// dimensions and overflow.
func elements(shape []int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d != 0 && n > math.MaxInt64/d {
			return 0, fmt.Errorf("shape %v overflows", shape)
		}
		n *= d
	}
	return n, nil
}
