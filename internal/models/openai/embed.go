package openai

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"strings"
)

const (
	// textBatch is how many texts go in one embeddings request; OpenAI
	// takes up to 2048, but smaller batches keep a failed request cheap to
	// retry and within self-hosted servers' limits.
	textBatch = 256
	// imageBatch is smaller because every image travels inline as base64:
	// 16 keyframes are a few megabytes.
	imageBatch = 16
)

// Embed returns one vector per input, in input order, from
// {base}/embeddings. dims > 0 asks for vectors of that size through the
// dimensions parameter (text-embedding-3-* and other Matryoshka models) and
// fails with ErrDimensions when the server returns another size; dims == 0
// takes the model's native size.
func (c *Client) Embed(ctx context.Context, model string, inputs []string, dims int) ([][]float32, error) {
	for i, s := range inputs {
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("embed: %w: input %d is empty", ErrRequest, i)
		}
	}
	return c.embed(ctx, model, len(inputs), textBatch, dims, func(lo, hi int) (any, error) {
		return inputs[lo:hi], nil
	})
}

// multimodalInput is one item of a Jina-style multimodal embeddings
// request: exactly one of its fields is set.
type multimodalInput struct {
	Text  string `json:"text,omitempty"`
	Image string `json:"image,omitempty"`
}

// EmbedImages embeds JPEG (or PNG) files with a multimodal model behind an
// OpenAI-compatible embeddings endpoint that accepts Jina-style inputs,
// [{"image": "data:image/jpeg;base64,..."}], such as Jina's jina-clip
// models. OpenAI itself offers no image embeddings.
func (c *Client) EmbedImages(ctx context.Context, model string, jpegPaths []string, dims int) ([][]float32, error) {
	return c.embed(ctx, model, len(jpegPaths), imageBatch, dims, func(lo, hi int) (any, error) {
		in := make([]multimodalInput, 0, hi-lo)
		for _, p := range jpegPaths[lo:hi] {
			uri, err := imageDataURI(p)
			if err != nil {
				return nil, err
			}
			in = append(in, multimodalInput{Image: uri})
		}
		return in, nil
	})
}

// EmbedTextsForImages embeds search queries with the same multimodal model
// and input shape ([{"text": "..."}]) as EmbedImages, so that they land in
// the images' vector space.
func (c *Client) EmbedTextsForImages(ctx context.Context, model string, texts []string, dims int) ([][]float32, error) {
	in := make([]multimodalInput, len(texts))
	for i, s := range texts {
		if strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("embed: %w: input %d is empty", ErrRequest, i)
		}
		in[i] = multimodalInput{Text: s}
	}
	return c.embed(ctx, model, len(in), textBatch, dims, func(lo, hi int) (any, error) {
		return in[lo:hi], nil
	})
}

func imageDataURI(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	mime := http.DetectContentType(b)
	if !strings.HasPrefix(mime, "image/") {
		return "", fmt.Errorf("%w: %s is %s, not an image", ErrRequest, path, mime)
	}
	return "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(b), nil
}

type embeddingRequest struct {
	Model          string `json:"model"`
	Input          any    `json:"input"`
	EncodingFormat string `json:"encoding_format"`
	Dimensions     int    `json:"dimensions,omitempty"`
}

type embeddingResponse struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
}

// embed runs n inputs through the embeddings endpoint in batches; input
// renders the request's input for items [lo, hi).
func (c *Client) embed(ctx context.Context, model string, n, batch, dims int, input func(lo, hi int) (any, error)) ([][]float32, error) {
	if model == "" {
		return nil, fmt.Errorf("embed: %w: no model given", ErrRequest)
	}
	out := make([][]float32, 0, n)
	want := dims
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		in, err := input(lo, hi)
		if err != nil {
			return nil, fmt.Errorf("embed: %w", err)
		}
		vecs, err := c.embedBatch(ctx, model, in, hi-lo, dims)
		if err != nil {
			if n > batch {
				return nil, fmt.Errorf("embed inputs %d-%d of %d: %w", lo, hi-1, n, err)
			}
			return nil, fmt.Errorf("embed: %w", err)
		}
		if want == 0 {
			want = len(vecs[0])
		}
		for _, v := range vecs {
			if len(v) == want {
				continue
			}
			if dims > 0 {
				return nil, fmt.Errorf("embed: %w: model %q returned %d-dimensional vectors for dimensions=%d; "+
					"the server ignores the parameter, so pick a model that supports dimensions "+
					"(like text-embedding-3-small) or configure %d dimensions", ErrDimensions, model, len(v), dims, len(v))
			}
			return nil, fmt.Errorf("embed: %w: model %q returned vectors of both %d and %d dimensions", ErrDimensions, model, want, len(v))
		}
		out = append(out, vecs...)
	}
	return out, nil
}

func (c *Client) embedBatch(ctx context.Context, model string, input any, count, dims int) ([][]float32, error) {
	cl, err := jsonCall("/embeddings", c.embedTimeout, embeddingRequest{
		Model: model, Input: input, EncodingFormat: "float", Dimensions: dims,
	})
	if err != nil {
		return nil, err
	}
	var resp embeddingResponse
	if err := c.do(ctx, cl, &resp); err != nil {
		return nil, err
	}
	if len(resp.Data) != count {
		return nil, fmt.Errorf("server returned %d embeddings for %d inputs", len(resp.Data), count)
	}
	// The API labels each vector with its input's index and does not
	// promise to keep the order.
	out := make([][]float32, count)
	for _, d := range resp.Data {
		if d.Index < 0 || d.Index >= count || out[d.Index] != nil {
			return nil, fmt.Errorf("server returned a bad or repeated embedding index %d", d.Index)
		}
		if len(d.Embedding) == 0 {
			return nil, fmt.Errorf("server returned an empty embedding for input %d", d.Index)
		}
		out[d.Index] = d.Embedding
	}
	return out, nil
}
