// Package embedtest writes model directories that package embed loads, with
// generated ONNX graphs in place of the real weights, which cannot be
// downloaded on CI machines. The graphs have the real exports' input and
// output names, types and shapes, so LoadText and LoadCLIP accept them and
// whole pipelines run end to end; their arithmetic is simple enough that
// the Want methods compute every expected vector in Go independently of
// package embed. Tokenizers and configs are the real files, copied in.
//
// The zero BERT and CLIP values mirror the exports vindex downloads
// (all-MiniLM-L6-v2, Xenova/clip-vit-base-patch32); fields select variants
// that tests of the loaders' checks need.
package embedtest

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/vindex/vindex/internal/models/onnxgen"
)

// The layout package embed reads. It is restated rather than imported
// because embed's own tests import this package; the tests here load the
// directories through embed, which catches any drift.
const (
	textModelFile        = "onnx/model.onnx"
	textTokenizerFile    = "tokenizer.json"
	clipVisionFile       = "onnx/vision_model_quantized.onnx"
	clipTextFile         = "onnx/text_model_quantized.onnx"
	clipVocabFile        = "bpe_simple_vocab_16e6.txt.gz"
	clipPreprocessorFile = "preprocessor_config.json"
)

const opset = 17

// WriteTextDir writes an all-minilm-l6-v2 directory as embed.LoadText
// expects it: a generated BERT{} model and a copy of the real tokenizer.json
// at tokenizerPath.
func WriteTextDir(dir, tokenizerPath string) error {
	return BERT{}.WriteDir(dir, tokenizerPath)
}

// WriteCLIPDir writes a clip-vit-b32 directory as embed.LoadCLIP expects
// it: generated CLIP{} encoders and copies of the real BPE vocabulary and
// preprocessor config.
func WriteCLIPDir(dir, vocabPath, preprocessorPath string) error {
	return CLIP{}.WriteDir(dir, vocabPath, preprocessorPath)
}

// tableRows keeps the embedding tables a few hundred kilobytes instead of
// vocabulary-sized: a token's row is id mod tableRows, and a second term
// linear in the id tells apart ids that share a row.
const tableRows = 97

func tableValue(row, d int) float32 { return float32(math.Sin(float64(row)*0.37 + float64(d)*0.11)) }
func idWeight(d int) float32        { return float32(math.Cos(float64(d)*0.7)) / 30522 }

// tokenValue is a token's embedding as the graph computes it.
func tokenValue(id int64, d int) float64 {
	return float64(tableValue(int(id%tableRows), d)) + float64(id)*float64(idWeight(d))
}

func vector(dims int, f func(d int) float32) []float32 {
	v := make([]float32, dims)
	for d := range v {
		v[d] = f(d)
	}
	return v
}

// addTokenEmbedding adds nodes computing out = table[ids mod tableRows] +
// ids·w, [batch, seq, dims]. It defines axis_last for later nodes.
func addTokenEmbedding(g *onnxgen.Graph, ids, out string, dims int) {
	table := make([]float32, tableRows*dims)
	for r := range tableRows {
		for d := range dims {
			table[r*dims+d] = tableValue(r, d)
		}
	}
	g.Float32Init("table", table, tableRows, int64(dims))
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

func writeModel(g *onnxgen.Graph, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return onnxgen.Model(g, opset, nil).Write(path)
}

// copyFile copies the real file src to dst; a copy rather than a link, so
// the directory stays valid wherever callers move it.
func copyFile(src, dst string) error {
	if err := copyContents(src, dst); err != nil {
		return fmt.Errorf("copy %s: %w", filepath.Base(src), err)
	}
	return nil
}

func copyContents(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(out, in)
	return err
}

// normalize scales v to unit length in place, as embed does to every vector.
func normalize(v []float64) []float64 {
	var ss float64
	for _, x := range v {
		ss += x * x
	}
	n := math.Sqrt(ss)
	for i := range v {
		v[i] /= n
	}
	return v
}
