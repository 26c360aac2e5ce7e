package embed

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/vindex/vindex/internal/models/ort"
	"github.com/vindex/vindex/internal/models/tokenize"
)

// TextMaxTokens is all-MiniLM-L6-v2's sequence limit, [CLS] and [SEP]
// included: sentence-transformers' max_seq_length (the tokenizer.json
// itself says 128, which sentence-transformers overrides).
const TextMaxTokens = 256

// Files LoadText reads, relative to the model directory.
const (
	TextModelFile     = "onnx/model.onnx"
	TextTokenizerFile = "tokenizer.json"
)

// Text is the all-MiniLM-L6-v2 sentence embedder: BERT hidden states,
// mean-pooled over the real tokens and L2-normalised, as the
// sentence-transformers pipeline (Transformer → Pooling → Normalize) does.
type Text struct {
	tok       *tokenize.WordPiece
	sess      *ort.Session
	typeIDs   bool // whether the export takes token_type_ids
	dims      int
	batchSize int
}

// LoadText loads the model and tokenizer from dir (TextModelFile and
// TextTokenizerFile). ort.Init must have been called. A missing file fails
// with an error wrapping fs.ErrNotExist; an ONNX file without the BERT
// inputs and outputs fails with ErrModelMismatch.
func LoadText(dir string, opt Options) (*Text, error) {
	modelPath := filepath.Join(dir, TextModelFile)
	tokPath := filepath.Join(dir, TextTokenizerFile)
	if err := checkFiles(modelPath, tokPath); err != nil {
		return nil, fmt.Errorf("load text model: %w", err)
	}
	tok, err := tokenize.LoadWordPiece(tokPath)
	if err != nil {
		return nil, fmt.Errorf("load text model: %w", err)
	}
	sess, err := ort.Open(modelPath, opt.sessionOptions())
	if err != nil {
		return nil, fmt.Errorf("load text model: %w", err)
	}
	t := &Text{tok: tok, sess: sess, batchSize: opt.batchSize()}
	if err := t.init(); err != nil {
		sess.Close()
		return nil, fmt.Errorf("load text model %s: %w", modelPath, err)
	}
	return t, nil
}

func (t *Text) init() error {
	ids := port{"input_ids", ort.Int64, 2}
	mask := port{"attention_mask", ort.Int64, 2}
	hidden := port{"last_hidden_state", ort.Float32, 3}
	inputs := []port{ids, mask}
	t.typeIDs = hasInput(t.sess, "token_type_ids")
	if t.typeIDs {
		inputs = append(inputs, port{"token_type_ids", ort.Int64, 2})
	}
	if err := checkPorts(t.sess, inputs, []port{hidden}); err != nil {
		return err
	}
	t.dims = declaredDim(t.sess, hidden.name)
	if t.dims == 0 {
		// A symbolic hidden size: learn it from one tiny run, since
		// callers size their vector tables from Dims before embedding.
		_, dims, err := t.run(context.Background(), t.tok.EncodeBatch([]string{""}, TextMaxTokens))
		if err != nil {
			return fmt.Errorf("probe hidden size: %w", err)
		}
		t.dims = dims
	}
	return nil
}

// Dims is the embedding size (384 for all-MiniLM-L6-v2).
func (t *Text) Dims() int { return t.dims }

// Close releases the model.
func (t *Text) Close() error { return t.sess.Close() }

// Embed returns one unit vector per text, in order. Texts longer than
// TextMaxTokens tokens are truncated. Texts are grouped by length into
// batches of Options.BatchSize so little compute goes to padding.
func (t *Text) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := newVectors(len(texts), t.dims)
	order := lengthOrder(texts)
	batch := make([]string, 0, t.batchSize)
	for start := 0; start < len(order); start += t.batchSize {
		idx := order[start:min(start+t.batchSize, len(order))]
		batch = batch[:0]
		for _, i := range idx {
			batch = append(batch, texts[i])
		}
		enc := t.tok.EncodeBatch(batch, TextMaxTokens)
		hidden, _, err := t.run(ctx, enc)
		if err != nil {
			return nil, fmt.Errorf("embed texts: %w", err)
		}
		if err := checkShape("last_hidden_state", hidden, int64(enc.Size), int64(enc.SeqLen), int64(t.dims)); err != nil {
			return nil, fmt.Errorf("embed texts: %w", err)
		}
		step := enc.SeqLen * t.dims
		for r, i := range idx {
			meanPool(out[i], hidden.Float32[r*step:(r+1)*step], enc.AttentionMask[r*enc.SeqLen:(r+1)*enc.SeqLen], t.dims)
			normalize(out[i])
		}
	}
	return out, nil
}

// run feeds one tokenized batch and returns last_hidden_state and its
// last dimension.
func (t *Text) run(ctx context.Context, enc tokenize.Batch) (*ort.Tensor, int, error) {
	shape := []int64{int64(enc.Size), int64(enc.SeqLen)}
	in := map[string]*ort.Tensor{
		"input_ids":      ort.Int64Tensor(enc.IDs, shape...),
		"attention_mask": ort.Int64Tensor(enc.AttentionMask, shape...),
	}
	if t.typeIDs {
		in["token_type_ids"] = ort.Int64Tensor(enc.TypeIDs, shape...)
	}
	res, err := t.sess.Run(ctx, in, "last_hidden_state")
	if err != nil {
		return nil, 0, err
	}
	h := res["last_hidden_state"]
	if len(h.Shape) != 3 {
		return nil, 0, fmt.Errorf("%w: last_hidden_state has shape %v", ErrModelMismatch, h.Shape)
	}
	return h, int(h.Shape[2]), nil
}
