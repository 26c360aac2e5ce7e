package embed

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models/onnxgen"
	"github.com/vindex/vindex/internal/models/ort"
	"github.com/vindex/vindex/internal/testmedia"
)

// Generated stand-ins for the real exports: the same input and output
// names, types and shapes, with arithmetic simple enough that the tests
// compute the expected vectors in Go independently of the package.

// tableRows keeps the embedding tables small: a token's row is id mod
// tableRows, and a second term linear in the id tells apart ids that share
// a row.
const tableRows = 97

func tableValue(row, d int) float32 { return float32(math.Sin(float64(row)*0.37 + float64(d)*0.11)) }
func idWeight(d int) float32        { return float32(math.Cos(float64(d)*0.7)) / 30522 }
func posWeight(d int) float32       { return float32(math.Sin(float64(d)*0.3)) / 64 }
func typeWeight(d int) float32      { return float32(math.Cos(float64(d) * 0.2)) }

func vector(dims int, f func(d int) float32) []float32 {
	v := make([]float32, dims)
	for d := range v {
		v[d] = f(d)
	}
	return v
}

func table(dims int) []float32 {
	v := make([]float32, tableRows*dims)
	for r := range tableRows {
		for d := range dims {
			v[r*dims+d] = tableValue(r, d)
		}
	}
	return v
}

// tokenValue is a token's embedding before position terms.
func tokenValue(id int64, d int) float64 {
	return float64(tableValue(int(id%tableRows), d)) + float64(id)*float64(idWeight(d))
}

// addTokenEmbedding adds nodes computing out = table[ids mod 97] + ids·w,
// [batch, seq, dims].
func addTokenEmbedding(g *onnxgen.Graph, ids, out string, dims int) {
	g.Float32Init("table", table(dims), tableRows, int64(dims))
	g.Float32Init("id_w", vector(dims, idWeight), int64(dims))
	g.Int64Init("rows", []int64{tableRows})
	g.Int64Init("axis_last", []int64{-1}, 1)
	g.Node("Mod", []string{ids, "rows"}, []string{"ids_mod"})
	g.Node("Gather", []string{"table", "ids_mod"}, []string{"tok_rows"}, onnxgen.Int("axis", 0))
	g.Node("Cast", []string{ids}, []string{"ids_f"}, onnxgen.Int("to", int64(onnxgen.Float32)))
	g.Node("Unsqueeze", []string{"ids_f", "axis_last"}, []string{"ids_f3"})
	g.Node("Mul", []string{"ids_f3", "id_w"}, []string{"tok_lin"})
	g.Node("Add", []string{"tok_rows", "tok_lin"}, []string{out})
}

type bertModel struct {
	typeIDs        bool // declare and use token_type_ids
	symbolicHidden bool // declare the hidden size as a symbolic dim
	inputName      string
	outputName     string
}

// writeBERT writes a BERT-shaped model: hidden[b,s] = token(ids[b,s]) +
// s·u (+ type_ids[b,s]·t) + (1 − mask[b,s])·100. The last term makes any
// padding that leaks into pooling obvious.
func writeBERT(t testing.TB, path string, m bertModel) {
	t.Helper()
	const dims = 384
	if m.inputName == "" {
		m.inputName = "input_ids"
	}
	if m.outputName == "" {
		m.outputName = "last_hidden_state"
	}
	g := onnxgen.NewGraph("bert")
	g.Input(m.inputName, onnxgen.Int64, "batch", "seq")
	g.Input("attention_mask", onnxgen.Int64, "batch", "seq")
	if m.typeIDs {
		g.Input("token_type_ids", onnxgen.Int64, "batch", "seq")
	}
	var hidden any = dims
	if m.symbolicHidden {
		hidden = "hidden"
	}
	g.Output(m.outputName, onnxgen.Float32, "batch", "seq", hidden)

	addTokenEmbedding(g, m.inputName, "tok", dims)

	g.Float32Init("pos_w", vector(dims, posWeight), dims)
	g.Int64Init("zero", []int64{0})
	g.Int64Init("one", []int64{1})
	g.Int64Init("axis_1", []int64{1}, 1)
	g.Node("Shape", []string{m.inputName}, []string{"shape"})
	g.Node("Gather", []string{"shape", "one"}, []string{"seq_len"}, onnxgen.Int("axis", 0))
	g.Node("Range", []string{"zero", "seq_len", "one"}, []string{"pos"})
	g.Node("Cast", []string{"pos"}, []string{"pos_f"}, onnxgen.Int("to", int64(onnxgen.Float32)))
	g.Node("Unsqueeze", []string{"pos_f", "axis_1"}, []string{"pos_col"})
	g.Node("Mul", []string{"pos_col", "pos_w"}, []string{"pos_emb"})
	g.Node("Add", []string{"tok", "pos_emb"}, []string{"with_pos"})

	g.Float32Init("one_f", []float32{1})
	g.Float32Init("pad_w", vector(dims, func(int) float32 { return 100 }), dims)
	g.Node("Cast", []string{"attention_mask"}, []string{"mask_f"}, onnxgen.Int("to", int64(onnxgen.Float32)))
	g.Node("Sub", []string{"one_f", "mask_f"}, []string{"pad_f"})
	g.Node("Unsqueeze", []string{"pad_f", "axis_last"}, []string{"pad_f3"})
	g.Node("Mul", []string{"pad_f3", "pad_w"}, []string{"pad_emb"})
	last := m.outputName
	if m.typeIDs {
		last = "without_types"
	}
	g.Node("Add", []string{"with_pos", "pad_emb"}, []string{last})
	if m.typeIDs {
		g.Float32Init("type_w", vector(dims, typeWeight), dims)
		g.Node("Cast", []string{"token_type_ids"}, []string{"types_f"}, onnxgen.Int("to", int64(onnxgen.Float32)))
		g.Node("Unsqueeze", []string{"types_f", "axis_last"}, []string{"types_f3"})
		g.Node("Mul", []string{"types_f3", "type_w"}, []string{"type_emb"})
		g.Node("Add", []string{last, "type_emb"}, []string{m.outputName})
	}
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, onnxgen.Model(g, 17, nil).Write(path))
}

// initORT loads ONNX Runtime once per test process.
func initORT(t testing.TB) {
	t.Helper()
	require.NoError(t, ort.Init(testmedia.ORTLib(t)))
}

// link makes dst point at the real shared file src.
func link(t testing.TB, src, dst string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	require.NoError(t, os.Symlink(src, dst))
}

type clipModel struct {
	textMask       bool   // declare and use attention_mask
	symbolicDims   bool   // declare the embedding sizes as symbolic
	visionInput    string // default pixel_values
	textOutput     string // default text_embeds
	textDims       int    // default 512
	pixelH, pixelW int    // declared pixel_values size, default 224
}

// projection maps the three channel means to the image embedding.
func projection(c, d int) float32 { return float32(math.Sin(float64(c*512+d) * 0.013)) }
func projBias(d int) float32      { return float32(math.Cos(float64(d)*0.05)) * 0.1 }

// writeCLIP writes CLIP-shaped encoders into dir/onnx. Vision:
// image_embeds = mean over pixels per channel · P + bias. Text:
// text_embeds = mean of the token embeddings over attention_mask, or,
// without one, over the tokens below <|endoftext|> (so padding with it is
// excluded either way).
func writeCLIP(t testing.TB, dir string, m clipModel) {
	t.Helper()
	const dims = 512
	if m.visionInput == "" {
		m.visionInput = "pixel_values"
	}
	if m.textOutput == "" {
		m.textOutput = "text_embeds"
	}
	if m.textDims == 0 {
		m.textDims = dims
	}
	if m.pixelH == 0 {
		m.pixelH, m.pixelW = 224, 224
	}
	var imageDim, textDim any = dims, m.textDims
	if m.symbolicDims {
		imageDim, textDim = "image_dims", "text_dims"
	}

	v := onnxgen.NewGraph("vision")
	v.Input(m.visionInput, onnxgen.Float32, "batch", 3, m.pixelH, m.pixelW)
	v.Output("image_embeds", onnxgen.Float32, "batch", imageDim)
	proj := make([]float32, 3*dims)
	for c := range 3 {
		for d := range dims {
			proj[c*dims+d] = projection(c, d)
		}
	}
	v.Float32Init("proj", proj, 3, dims)
	v.Float32Init("bias", vector(dims, projBias), dims)
	v.Node("GlobalAveragePool", []string{m.visionInput}, []string{"pooled"})
	v.Node("Flatten", []string{"pooled"}, []string{"means"}, onnxgen.Int("axis", 1))
	v.Node("MatMul", []string{"means", "proj"}, []string{"projected"})
	v.Node("Add", []string{"projected", "bias"}, []string{"image_embeds"})
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "onnx"), 0o755))
	require.NoError(t, onnxgen.Model(v, 17, nil).Write(filepath.Join(dir, CLIPVisionFile)))

	g := onnxgen.NewGraph("text")
	g.Input("input_ids", onnxgen.Int64, "batch", "seq")
	if m.textMask {
		g.Input("attention_mask", onnxgen.Int64, "batch", "seq")
	}
	g.Output(m.textOutput, onnxgen.Float32, "batch", textDim)
	addTokenEmbedding(g, "input_ids", "tok", m.textDims)
	if m.textMask {
		g.Node("Cast", []string{"attention_mask"}, []string{"mask"}, onnxgen.Int("to", int64(onnxgen.Float32)))
	} else {
		g.Int64Init("eot", []int64{49407})
		g.Node("Less", []string{"input_ids", "eot"}, []string{"real"})
		g.Node("Cast", []string{"real"}, []string{"mask"}, onnxgen.Int("to", int64(onnxgen.Float32)))
	}
	g.Int64Init("axis_seq", []int64{1}, 1)
	g.Node("Unsqueeze", []string{"mask", "axis_last"}, []string{"mask3"})
	g.Node("Mul", []string{"tok", "mask3"}, []string{"masked"})
	g.Node("ReduceSum", []string{"masked", "axis_seq"}, []string{"sum"}, onnxgen.Int("keepdims", 0))
	g.Node("ReduceSum", []string{"mask", "axis_seq"}, []string{"count"}, onnxgen.Int("keepdims", 1))
	g.Node("Div", []string{"sum", "count"}, []string{m.textOutput})
	require.NoError(t, onnxgen.Model(g, 17, nil).Write(filepath.Join(dir, CLIPTextFile)))
}
