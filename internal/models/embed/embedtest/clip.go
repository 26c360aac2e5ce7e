package embedtest

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/vindex/vindex/internal/models/onnxgen"
)

// CLIP describes generated stand-ins for the two encoders of
// Xenova/clip-vit-base-patch32. Vision: image_embeds = the per-channel
// means of pixel_values · P + bias. Text: text_embeds = the mean of the
// token embeddings over attention_mask or, without one, over the tokens
// below <|endoftext|>, so padding with it is excluded either way.
type CLIP struct {
	TextMask     bool   // give the text encoder an attention_mask input
	SymbolicDims bool   // declare both embedding sizes as symbolic dimensions
	VisionInput  string // instead of pixel_values
	TextOutput   string // instead of text_embeds
	TextDims     int    // text embedding size instead of 512
	PixelSize    int    // declared pixel_values height and width instead of 224
}

const (
	clipDims     = 512
	endOfText    = 49407
	clipPixelDim = 224
)

// projection maps the three channel means to the image embedding.
func projection(c, d int) float32 { return float32(math.Sin(float64(c*clipDims+d) * 0.013)) }
func projBias(d int) float32      { return float32(math.Cos(float64(d)*0.05)) * 0.1 }

// WriteDir writes both encoders into dir/onnx and copies the BPE vocabulary
// at vocabPath and the preprocessor config at preprocessorPath beside them.
func (m CLIP) WriteDir(dir, vocabPath, preprocessorPath string) error {
	if err := writeModel(m.visionGraph(), filepath.Join(dir, clipVisionFile)); err != nil {
		return fmt.Errorf("write clip vision model: %w", err)
	}
	if err := writeModel(m.textGraph(), filepath.Join(dir, clipTextFile)); err != nil {
		return fmt.Errorf("write clip text model: %w", err)
	}
	if err := copyFile(vocabPath, filepath.Join(dir, clipVocabFile)); err != nil {
		return err
	}
	return copyFile(preprocessorPath, filepath.Join(dir, clipPreprocessorFile))
}

func (m CLIP) textDims() int {
	if m.TextDims == 0 {
		return clipDims
	}
	return m.TextDims
}

func (m CLIP) visionGraph() *onnxgen.Graph {
	input, pixels := m.VisionInput, m.PixelSize
	if input == "" {
		input = "pixel_values"
	}
	if pixels == 0 {
		pixels = clipPixelDim
	}
	var dims any = clipDims
	if m.SymbolicDims {
		dims = "image_dims"
	}
	g := onnxgen.NewGraph("vision")
	g.Input(input, onnxgen.Float32, "batch", 3, pixels, pixels)
	g.Output("image_embeds", onnxgen.Float32, "batch", dims)
	proj := make([]float32, 3*clipDims)
	for c := range 3 {
		for d := range clipDims {
			proj[c*clipDims+d] = projection(c, d)
		}
	}
	g.Float32Init("proj", proj, 3, clipDims)
	g.Float32Init("bias", vector(clipDims, projBias), clipDims)
	g.Node("GlobalAveragePool", []string{input}, []string{"pooled"})
	g.Node("Flatten", []string{"pooled"}, []string{"means"}, onnxgen.Int("axis", 1))
	g.Node("MatMul", []string{"means", "proj"}, []string{"projected"})
	g.Node("Add", []string{"projected", "bias"}, []string{"image_embeds"})
	return g
}

func (m CLIP) textGraph() *onnxgen.Graph {
	output := m.TextOutput
	if output == "" {
		output = "text_embeds"
	}
	var dims any = m.textDims()
	if m.SymbolicDims {
		dims = "text_dims"
	}
	g := onnxgen.NewGraph("text")
	g.Input("input_ids", onnxgen.Int64, "batch", "seq")
	if m.TextMask {
		g.Input("attention_mask", onnxgen.Int64, "batch", "seq")
	}
	g.Output(output, onnxgen.Float32, "batch", dims)
	addTokenEmbedding(g, "input_ids", "tok", m.textDims())
	if m.TextMask {
		g.Node("Cast", []string{"attention_mask"}, []string{"mask"}, onnxgen.Int("to", int64(onnxgen.Float32)))
	} else {
		g.Int64Init("eot", []int64{endOfText})
		g.Node("Less", []string{"input_ids", "eot"}, []string{"real"})
		g.Node("Cast", []string{"real"}, []string{"mask"}, onnxgen.Int("to", int64(onnxgen.Float32)))
	}
	g.Int64Init("axis_seq", []int64{1}, 1)
	g.Node("Unsqueeze", []string{"mask", "axis_last"}, []string{"mask3"})
	g.Node("Mul", []string{"tok", "mask3"}, []string{"masked"})
	g.Node("ReduceSum", []string{"masked", "axis_seq"}, []string{"sum"}, onnxgen.Int("keepdims", 0))
	g.Node("ReduceSum", []string{"mask", "axis_seq"}, []string{"count"}, onnxgen.Int("keepdims", 1))
	g.Node("Div", []string{"sum", "count"}, []string{output})
	return g
}

// WantImage is the vector embed.CLIP should produce for an image whose
// preprocessed pixel_values have the per-channel means given (for a
// uniform image, its rescaled and normalised colour).
func (m CLIP) WantImage(means [3]float64) []float64 {
	v := make([]float64, clipDims)
	for d := range v {
		v[d] = float64(projBias(d))
		for c, mean := range means {
			v[d] += mean * float64(projection(c, d))
		}
	}
	return normalize(v)
}

// WantText is the vector embed.CLIP should produce for one encoding (as
// tokenize.CLIP.Encode returns it, unpadded).
func (m CLIP) WantText(ids []int64) []float64 {
	v := make([]float64, m.textDims())
	var n float64
	for _, id := range ids {
		if !m.TextMask && id >= endOfText {
			continue
		}
		n++
		for d := range v {
			v[d] += tokenValue(id, d)
		}
	}
	for d := range v {
		v[d] /= n
	}
	return normalize(v)
}
