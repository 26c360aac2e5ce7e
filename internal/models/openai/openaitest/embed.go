package openaitest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"unicode"
)

const (
	// embedLimit bounds an embeddings request body; inline images make
	// them large.
	embedLimit = 64 << 20
	// maxInputs is the real API's cap on inputs per request.
	maxInputs = 2048
)

type embeddingRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`
	User           string          `json:"user"`
}

type embedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32, or base64 of little-endian float32s
}

type embeddingList struct {
	Object string      `json:"object"`
	Data   []embedding `json:"data"`
	Model  string      `json:"model"`
	Usage  struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

// input is one thing to embed: text or image bytes.
type input struct {
	text  string
	image []byte
}

const badInput = "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."

func (s *Server) embed(r *http.Request, rec *Request) reply {
	var req embeddingRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		if rep, ok := tooLarge(err); ok {
			return rep
		}
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return invalid("Unrecognized request argument supplied: " + strings.Trim(field, `"`))
		}
		return invalid("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)")
	}
	rec.Model = req.Model
	if req.Model == "" {
		return invalid("you must provide a model parameter")
	}
	m, ok := s.EmbeddingModels[req.Model]
	if !ok {
		return modelNotFound(req.Model)
	}
	inputs, err := parseInputs(req.Input, m.Images)
	if err != nil {
		return invalid(err.Error())
	}
	rec.Count = len(inputs)
	if req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64" {
		return invalid(fmt.Sprintf("Invalid value for 'encoding_format' = %s. Supported values are 'float' and 'base64'.", req.EncodingFormat))
	}
	dims := m.Dims
	if req.Dimensions != nil && !m.IgnoresDimensions {
		switch d := *req.Dimensions; {
		case !m.Dimensions:
			return invalid("This model does not support specifying dimensions.")
		case d < 1 || d > m.Dims:
			return invalid(fmt.Sprintf("Invalid value for 'dimensions' = %d. Must be between 1 and %d.", d, m.Dims))
		default:
			dims = d
		}
	}

	out := embeddingList{Object: "list", Model: req.Model, Data: make([]embedding, len(inputs))}
	for i, in := range inputs {
		var v []float32
		if in.image != nil {
			v = ImageVector(in.image, dims)
		} else {
			v = TextVector(in.text, dims)
			out.Usage.PromptTokens += len(words(in.text))
		}
		out.Data[i] = embedding{Object: "embedding", Index: i, Embedding: v}
		if req.EncodingFormat == "base64" {
			out.Data[i].Embedding = encodeBase64(v)
		}
	}
	out.Usage.TotalTokens = out.Usage.PromptTokens
	if s.ReverseData {
		slices.Reverse(out.Data)
	}
	return reply{status: http.StatusOK, body: out}
}

// parseInputs accepts a string, a list of strings, or, for multimodal
// models, a list of {"text"} and {"image"} objects. Token-id inputs, which
// the real API also takes, are not supported here.
func parseInputs(raw json.RawMessage, images bool) ([]input, error) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one == "" {
			return nil, errors.New(badInput)
		}
		return []input{{text: one}}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || len(items) == 0 || len(items) > maxInputs {
		return nil, errors.New(badInput)
	}
	out := make([]input, len(items))
	for i, it := range items {
		var s string
		if json.Unmarshal(it, &s) == nil {
			if s == "" {
				return nil, errors.New(badInput)
			}
			out[i] = input{text: s}
			continue
		}
		if !images {
			return nil, errors.New(badInput)
		}
		var obj struct {
			Text  *string `json:"text"`
			Image *string `json:"image"`
		}
		dec := json.NewDecoder(bytes.NewReader(it))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&obj); err != nil || (obj.Text == nil) == (obj.Image == nil) {
			return nil, fmt.Errorf("input[%d] must be an object with exactly one of 'text' or 'image'", i)
		}
		if obj.Text != nil {
			if *obj.Text == "" {
				return nil, errors.New(badInput)
			}
			out[i] = input{text: *obj.Text}
			continue
		}
		img, err := decodeImage(*obj.Image)
		if err != nil {
			return nil, fmt.Errorf("input[%d].image: %w", i, err)
		}
		out[i] = input{image: img}
	}
	return out, nil
}

// decodeImage takes a data URI or bare base64, as Jina's API does; the
// test server cannot fetch URLs.
func decodeImage(s string) ([]byte, error) {
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return nil, errors.New("image URLs are not supported by this test server; send base64")
	}
	if rest, ok := strings.CutPrefix(s, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		if !ok || !strings.HasPrefix(meta, "image/") || !strings.HasSuffix(meta, ";base64") {
			return nil, errors.New("want a data:image/...;base64, URI")
		}
		s = data
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, errors.New("invalid base64 image")
	}
	if !strings.HasPrefix(http.DetectContentType(b), "image/") {
		return nil, errors.New("not an image")
	}
	return b, nil
}

// TextVector is the server's embedding of a text: its lowercase word
// unigrams and bigrams hashed into dims signed buckets, L2-normalised, so
// the cosine similarity of two texts grows with the words and word pairs
// they share. Tests use it to compute expected rankings.
func TextVector(text string, dims int) []float32 {
	v := make([]float64, dims)
	add := func(feature string) {
		h := fnv.New64a()
		_, _ = h.Write([]byte(feature))
		sum := h.Sum64()
		sign := 1.0
		if sum>>63 == 1 {
			sign = -1
		}
		v[sum%uint64(dims)] += sign
	}
	ws := words(text)
	for i, w := range ws {
		add(w)
		if i > 0 {
			add(ws[i-1] + " " + w)
		}
	}
	if len(ws) == 0 {
		// Punctuation alone still gets a vector of its own.
		add("\x00" + text)
	}
	return normalize(v)
}

// ImageVector is the server's embedding of an image: a unit vector seeded
// by the image bytes' hash, the same for the same bytes and unrelated for
// different ones.
func ImageVector(img []byte, dims int) []float32 {
	seed := sha256.Sum256(img)
	rng := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[0:8]), binary.LittleEndian.Uint64(seed[8:16])))
	v := make([]float64, dims)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return normalize(v)
}

func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}

func normalize(v []float64) []float32 {
	var sum float64
	for _, x := range v {
		sum += x * x
	}
	out := make([]float32, len(v))
	if sum == 0 {
		return out
	}
	n := math.Sqrt(sum)
	for i, x := range v {
		out[i] = float32(x / n)
	}
	return out
}

func encodeBase64(v []float32) string {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(b)
}
