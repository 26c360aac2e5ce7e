package ort

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"google.golang.org/protobuf/encoding/protowire"
)

// errNotONNX reports a file that does not parse as an ONNX ModelProto.
var errNotONNX = errors.New("not an onnx model")

// readSignature reads the graph's inputs and outputs from the model file
// itself rather than from a session, for two reasons. onnxruntime_go only
// reports them through a throwaway session, which would load every model
// twice. And ORT reports no dimensions both for a scalar and for a value of
// unknown rank, while Run must tell them apart (see outputValues); the
// protobuf does. The file is mapped, not read, so the weights (the bulk of
// it) are skipped without being paged in.
func readSignature(path string) (inputs, outputs []Info, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() == 0 {
		return nil, nil, fmt.Errorf("%w: empty file", errNotONNX)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("map model file: %w", err)
	}
	defer syscall.Munmap(data)
	return parseSignature(data)
}

// parseSignature walks ModelProto.graph (field 7) for GraphProto's inputs
// (11), outputs (12) and initializers (5). Initializers listed among the
// inputs are optional overrides (the IR < 4 convention), which ORT does not
// count as inputs either.
func parseSignature(model []byte) (inputs, outputs []Info, err error) {
	var graph []byte
	err = fields(model, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num == 7 && typ == protowire.BytesType {
			graph = v
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if graph == nil {
		return nil, nil, fmt.Errorf("%w: no graph", errNotONNX)
	}
	initialized := map[string]bool{}
	err = fields(graph, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 5:
			name, err := stringField(v, 8)
			initialized[name] = true
			return err
		case 11, 12:
			info, err := parseValueInfo(v)
			if err != nil {
				return err
			}
			if num == 11 {
				inputs = append(inputs, info)
			} else {
				outputs = append(outputs, info)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	required := inputs[:0]
	for _, in := range inputs {
		if !initialized[in.Name] {
			required = append(required, in)
		}
	}
	return required, outputs, nil
}

// parseValueInfo decodes ValueInfoProto{name=1, type=2}, TypeProto{tensor_type=1},
// TypeProto.Tensor{elem_type=1, shape=2}, TensorShapeProto{dim=1} and
// Dimension{dim_value=1, dim_param=2}. A missing shape leaves Shape nil
// (unknown rank); a present but empty one is a scalar.
func parseValueInfo(b []byte) (Info, error) {
	var info Info
	var tensor []byte
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			info.Name = string(v)
		case num == 2 && typ == protowire.BytesType:
			return fields(v, func(num protowire.Number, typ protowire.Type, v []byte) error {
				if num == 1 && typ == protowire.BytesType {
					tensor = v
				}
				return nil
			})
		}
		return nil
	})
	if err != nil || tensor == nil {
		return info, err // a sequence or map: no element type or shape
	}
	err = fields(tensor, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch {
		case num == 1 && typ == protowire.VarintType:
			n, _ := protowire.ConsumeVarint(v)
			info.Type = ElemType(n)
		case num == 2 && typ == protowire.BytesType:
			info.Shape = []int64{}
			return fields(v, func(num protowire.Number, typ protowire.Type, v []byte) error {
				if num != 1 || typ != protowire.BytesType {
					return nil
				}
				dim := int64(-1) // dim_param or nothing: free
				err := fields(v, func(num protowire.Number, typ protowire.Type, v []byte) error {
					if num == 1 && typ == protowire.VarintType {
						n, _ := protowire.ConsumeVarint(v)
						dim = int64(n)
					}
					return nil
				})
				info.Shape = append(info.Shape, dim)
				return err
			})
		}
		return nil
	})
	return info, err
}

// stringField returns the last value of string field num in message b.
func stringField(b []byte, num protowire.Number) (string, error) {
	var s string
	err := fields(b, func(n protowire.Number, typ protowire.Type, v []byte) error {
		if n == num && typ == protowire.BytesType {
			s = string(v)
		}
		return nil
	})
	return s, err
}

// fields calls fn for each field of message b with its raw value: the
// payload of a length-delimited field, the encoded bytes otherwise.
func fields(b []byte, fn func(protowire.Number, protowire.Type, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %w", errNotONNX, protowire.ParseError(n))
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return fmt.Errorf("%w: %w", errNotONNX, protowire.ParseError(m))
		}
		v := b[:m]
		if typ == protowire.BytesType {
			v, _ = protowire.ConsumeBytes(v)
		}
		if err := fn(num, typ, v); err != nil {
			return err
		}
		b = b[m:]
	}
	return nil
}
