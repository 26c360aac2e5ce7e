package embedtest

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/vindex/vindex/internal/models/onnxgen"
	"github.com/vindex/vindex/internal/models/tokenize"
)

// BERT describes a generated stand-in for all-MiniLM-L6-v2's export. Its
// graph computes hidden[b,s] = token(ids[b,s]) + s·u + types[b,s]·t +
// (1 − mask[b,s])·100: the last term makes any padding that leaks into
// pooling obvious.
type BERT struct {
	NoTypeIDs      bool   // leave out the token_type_ids input
	SymbolicHidden bool   // declare the hidden size as a symbolic dimension
	InputName      string // instead of input_ids
	OutputName     string // instead of last_hidden_state
}

// bertDims is the generated model's hidden size, all-MiniLM-L6-v2's.
const bertDims = 384

func posWeight(d int) float32  { return float32(math.Sin(float64(d)*0.3)) / 64 }
func typeWeight(d int) float32 { return float32(math.Cos(float64(d) * 0.2)) }

// WriteDir writes the model to dir/onnx/model.onnx and copies the
// tokenizer.json at tokenizerPath beside it.
func (m BERT) WriteDir(dir, tokenizerPath string) error {
	if err := writeModel(m.graph(), filepath.Join(dir, textModelFile)); err != nil {
		return fmt.Errorf("write bert model: %w", err)
	}
	return copyFile(tokenizerPath, filepath.Join(dir, textTokenizerFile))
}

func (m BERT) graph() *onnxgen.Graph {
	input, output := m.InputName, m.OutputName
	if input == "" {
		input = "input_ids"
	}
	if output == "" {
		output = "last_hidden_state"
	}
	g := onnxgen.NewGraph("bert")
	g.Input(input, onnxgen.Int64, "batch", "seq")
	g.Input("attention_mask", onnxgen.Int64, "batch", "seq")
	if !m.NoTypeIDs {
		g.Input("token_type_ids", onnxgen.Int64, "batch", "seq")
	}
	var hidden any = bertDims
	if m.SymbolicHidden {
		hidden = "hidden"
	}
	g.Output(output, onnxgen.Float32, "batch", "seq", hidden)

	addTokenEmbedding(g, input, "tok", bertDims)

	g.Float32Init("pos_w", vector(bertDims, posWeight), bertDims)
	g.Int64Init("zero", []int64{0})
	g.Int64Init("one", []int64{1})
	g.Int64Init("axis_1", []int64{1}, 1)
	g.Node("Shape", []string{input}, []string{"shape"})
	g.Node("Gather", []string{"shape", "one"}, []string{"seq_len"}, onnxgen.Int("axis", 0))
	g.Node("Range", []string{"zero", "seq_len", "one"}, []string{"pos"})
	g.Node("Cast", []string{"pos"}, []string{"pos_f"}, onnxgen.Int("to", int64(onnxgen.Float32)))
	g.Node("Unsqueeze", []string{"pos_f", "axis_1"}, []string{"pos_col"})
	g.Node("Mul", []string{"pos_col", "pos_w"}, []string{"pos_emb"})
	g.Node("Add", []string{"tok", "pos_emb"}, []string{"with_pos"})

	g.Float32Init("one_f", []float32{1})
	g.Float32Init("pad_w", vector(bertDims, func(int) float32 { return 100 }), bertDims)
	g.Node("Cast", []string{"attention_mask"}, []string{"mask_f"}, onnxgen.Int("to", int64(onnxgen.Float32)))
	g.Node("Sub", []string{"one_f", "mask_f"}, []string{"pad_f"})
	g.Node("Unsqueeze", []string{"pad_f", "axis_last"}, []string{"pad_f3"})
	g.Node("Mul", []string{"pad_f3", "pad_w"}, []string{"pad_emb"})
	if m.NoTypeIDs {
		g.Node("Add", []string{"with_pos", "pad_emb"}, []string{output})
		return g
	}
	g.Node("Add", []string{"with_pos", "pad_emb"}, []string{"without_types"})
	g.Float32Init("type_w", vector(bertDims, typeWeight), bertDims)
	g.Node("Cast", []string{"token_type_ids"}, []string{"types_f"}, onnxgen.Int("to", int64(onnxgen.Float32)))
	g.Node("Unsqueeze", []string{"types_f", "axis_last"}, []string{"types_f3"})
	g.Node("Mul", []string{"types_f3", "type_w"}, []string{"type_emb"})
	g.Node("Add", []string{"without_types", "type_emb"}, []string{output})
	return g
}

// Want is the sentence vector embed.Text should produce from the model for
// one encoding (unpadded, as WordPiece.Encode returns it): the mean over
// the tokens of what the graph yields at unmasked positions, normalised.
func (m BERT) Want(enc tokenize.Encoding) []float64 {
	v := make([]float64, bertDims)
	for p, id := range enc.IDs {
		for d := range v {
			v[d] += tokenValue(id, d) + float64(p)*float64(posWeight(d))
			if !m.NoTypeIDs {
				v[d] += float64(enc.TypeIDs[p]) * float64(typeWeight(d))
			}
		}
	}
	for d := range v {
		v[d] /= float64(len(enc.IDs))
	}
	return normalize(v)
}
