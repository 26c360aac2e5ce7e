package embed

import (
	"context"
	"errors"
	"fmt"
	"image"
	"path/filepath"
	"runtime"

	"golang.org/x/sync/errgroup"

	"github.com/vindex/vindex/internal/models/ort"
	"github.com/vindex/vindex/internal/models/tokenize"
)

// Files LoadCLIP reads, relative to the model directory: the layout of
// the transformers.js export (Xenova/clip-vit-base-patch32, q8 weights)
// plus OpenAI's BPE vocabulary.
const (
	CLIPVisionFile       = "onnx/vision_model_quantized.onnx"
	CLIPTextFile         = "onnx/text_model_quantized.onnx"
	CLIPVocabFile        = "bpe_simple_vocab_16e6.txt.gz"
	CLIPPreprocessorFile = "preprocessor_config.json"
)

// CLIP embeds images and texts into one space (512-d for ViT-B/32), so a
// text query finds the frames it describes by cosine similarity.
type CLIP struct {
	tok       *tokenize.CLIP
	img       *imageConfig
	vision    *ort.Session
	text      *ort.Session
	textMask  bool // whether the text export takes attention_mask
	dims      int
	batchSize int
}

// LoadCLIP loads both encoders, the tokenizer and the image preprocessing
// from dir (the CLIP*File names). ort.Init must have been called. A missing
// file fails with an error wrapping fs.ErrNotExist; encoders without the
// expected inputs and outputs fail with ErrModelMismatch.
func LoadCLIP(dir string, opt Options) (*CLIP, error) {
	visionPath := filepath.Join(dir, CLIPVisionFile)
	textPath := filepath.Join(dir, CLIPTextFile)
	vocabPath := filepath.Join(dir, CLIPVocabFile)
	configPath := filepath.Join(dir, CLIPPreprocessorFile)
	if err := checkFiles(visionPath, textPath, vocabPath, configPath); err != nil {
		return nil, fmt.Errorf("load clip model: %w", err)
	}
	img, err := loadImageConfig(configPath)
	if err != nil {
		return nil, fmt.Errorf("load clip model: %w", err)
	}
	tok, err := tokenize.LoadCLIP(vocabPath)
	if err != nil {
		return nil, fmt.Errorf("load clip model: %w", err)
	}
	c := &CLIP{tok: tok, img: img, batchSize: opt.batchSize()}
	if c.vision, err = ort.Open(visionPath, opt.sessionOptions()); err != nil {
		return nil, fmt.Errorf("load clip model: %w", err)
	}
	if c.text, err = ort.Open(textPath, opt.sessionOptions()); err != nil {
		c.vision.Close()
		return nil, fmt.Errorf("load clip model: %w", err)
	}
	if err := c.init(); err != nil {
		c.Close()
		return nil, fmt.Errorf("load clip model from %s: %w", dir, err)
	}
	return c, nil
}

func (c *CLIP) init() error {
	err := checkPorts(c.vision,
		[]port{{"pixel_values", ort.Float32, 4}},
		[]port{{"image_embeds", ort.Float32, 2}})
	if err != nil {
		return fmt.Errorf("vision model: %w", err)
	}
	if err := c.checkPixelShape(); err != nil {
		return fmt.Errorf("vision model: %w", err)
	}
	textInputs := []port{{"input_ids", ort.Int64, 2}}
	c.textMask = hasInput(c.text, "attention_mask")
	if c.textMask {
		textInputs = append(textInputs, port{"attention_mask", ort.Int64, 2})
	}
	if err := checkPorts(c.text, textInputs, []port{{"text_embeds", ort.Float32, 2}}); err != nil {
		return fmt.Errorf("text model: %w", err)
	}

	// Callers size vector tables from Dims before embedding anything, so
	// a symbolic embedding size is learnt from one tiny run at load.
	imageDims := declaredDim(c.vision, "image_embeds")
	if imageDims == 0 {
		res, err := c.runVision(context.Background(), make([]float32, c.img.pixelCount()), 1)
		if err != nil {
			return fmt.Errorf("probe image embedding size: %w", err)
		}
		imageDims = int(res.Shape[1])
	}
	textDims := declaredDim(c.text, "text_embeds")
	if textDims == 0 {
		res, err := c.runText(context.Background(), c.tok.EncodeBatch([]string{""}))
		if err != nil {
			return fmt.Errorf("probe text embedding size: %w", err)
		}
		textDims = int(res.Shape[1])
	}
	if imageDims != textDims {
		return fmt.Errorf("%w: image embeddings have %d dimensions, text embeddings %d", ErrModelMismatch, imageDims, textDims)
	}
	c.dims = imageDims
	return nil
}

// checkPixelShape compares the fixed dimensions the vision model declares
// for pixel_values with the image size preprocessor_config.json produces.
func (c *CLIP) checkPixelShape() error {
	for _, in := range c.vision.Inputs() {
		if in.Name != "pixel_values" || len(in.Shape) != 4 {
			continue
		}
		want := []int64{3, int64(c.img.outH), int64(c.img.outW)}
		for i, d := range in.Shape[1:] {
			if d >= 0 && d != want[i] {
				return fmt.Errorf("%w: pixel_values is %v but preprocessing yields [batch %d %d %d]",
					ErrModelMismatch, in.Shape, want[0], want[1], want[2])
			}
		}
	}
	return nil
}

// Dims is the embedding size shared by images and texts (512 for ViT-B/32).
func (c *CLIP) Dims() int { return c.dims }

// Close releases both encoders.
func (c *CLIP) Close() error {
	return errors.Join(c.vision.Close(), c.text.Close())
}

// EmbedImage returns the unit vector of one decoded image.
func (c *CLIP) EmbedImage(ctx context.Context, img image.Image) ([]float32, error) {
	pixels := make([]float32, c.img.pixelCount())
	if err := c.img.preprocess(img, pixels); err != nil {
		return nil, fmt.Errorf("embed image: %w", err)
	}
	out := newVectors(1, c.dims)
	if err := c.embedPixels(ctx, pixels, out); err != nil {
		return nil, fmt.Errorf("embed image: %w", err)
	}
	return out[0], nil
}

// EmbedImages returns one unit vector per JPEG or PNG file, in order. Files
// are decoded and preprocessed in parallel, Options.BatchSize at a time. A
// file that is not a decodable image fails the call with an error naming
// it and wrapping ErrBadImage.
func (c *CLIP) EmbedImages(ctx context.Context, paths []string) ([][]float32, error) {
	out := newVectors(len(paths), c.dims)
	n := c.img.pixelCount()
	pixels := make([]float32, min(c.batchSize, len(paths))*n)
	for start := 0; start < len(paths); start += c.batchSize {
		batch := paths[start:min(start+c.batchSize, len(paths))]
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(runtime.GOMAXPROCS(0))
		for r, path := range batch {
			g.Go(func() error {
				if err := gctx.Err(); err != nil {
					return err
				}
				img, err := decodeImage(path)
				if err != nil {
					return err
				}
				if err := c.img.preprocess(img, pixels[r*n:(r+1)*n]); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, fmt.Errorf("embed images: %w", err)
		}
		if err := c.embedPixels(ctx, pixels[:len(batch)*n], out[start:start+len(batch)]); err != nil {
			return nil, fmt.Errorf("embed images: %w", err)
		}
	}
	return out, nil
}

// embedPixels runs the vision encoder on len(out) preprocessed images and
// writes their normalised embeddings to out.
func (c *CLIP) embedPixels(ctx context.Context, pixels []float32, out [][]float32) error {
	res, err := c.runVision(ctx, pixels, len(out))
	if err != nil {
		return err
	}
	return c.collect("image_embeds", res, out)
}

// EmbedTexts returns one unit vector per text, in order. Texts are cut to
// CLIP's 77-token context; they are grouped by length into batches of
// Options.BatchSize so little compute goes to padding.
func (c *CLIP) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	out := newVectors(len(texts), c.dims)
	order := lengthOrder(texts)
	batch := make([]string, 0, c.batchSize)
	rows := make([][]float32, 0, c.batchSize)
	for start := 0; start < len(order); start += c.batchSize {
		batch, rows = batch[:0], rows[:0]
		for _, i := range order[start:min(start+c.batchSize, len(order))] {
			batch = append(batch, texts[i])
			rows = append(rows, out[i])
		}
		res, err := c.runText(ctx, c.tok.EncodeBatch(batch))
		if err != nil {
			return nil, fmt.Errorf("embed texts: %w", err)
		}
		if err := c.collect("text_embeds", res, rows); err != nil {
			return nil, fmt.Errorf("embed texts: %w", err)
		}
	}
	return out, nil
}

// collect copies a [len(out), dims] embedding tensor into out, normalised.
func (c *CLIP) collect(name string, t *ort.Tensor, out [][]float32) error {
	if err := checkShape(name, t, int64(len(out)), int64(c.dims)); err != nil {
		return err
	}
	for r, v := range out {
		copy(v, t.Float32[r*c.dims:(r+1)*c.dims])
		normalize(v)
	}
	return nil
}

func (c *CLIP) runVision(ctx context.Context, pixels []float32, n int) (*ort.Tensor, error) {
	in := map[string]*ort.Tensor{
		"pixel_values": ort.Float32Tensor(pixels, int64(n), 3, int64(c.img.outH), int64(c.img.outW)),
	}
	res, err := c.vision.Run(ctx, in, "image_embeds")
	if err != nil {
		return nil, err
	}
	return rank2(res["image_embeds"])
}

func (c *CLIP) runText(ctx context.Context, enc tokenize.Batch) (*ort.Tensor, error) {
	shape := []int64{int64(enc.Size), int64(enc.SeqLen)}
	in := map[string]*ort.Tensor{"input_ids": ort.Int64Tensor(enc.IDs, shape...)}
	if c.textMask {
		in["attention_mask"] = ort.Int64Tensor(enc.AttentionMask, shape...)
	}
	res, err := c.text.Run(ctx, in, "text_embeds")
	if err != nil {
		return nil, err
	}
	return rank2(res["text_embeds"])
}

func rank2(t *ort.Tensor) (*ort.Tensor, error) {
	if len(t.Shape) != 2 {
		return nil, fmt.Errorf("%w: embeddings have shape %v, want [batch, dims]", ErrModelMismatch, t.Shape)
	}
	return t, nil
}
