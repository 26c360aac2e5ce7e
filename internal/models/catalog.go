package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Kind is what a model understands.
type Kind string

// The kinds of model vindex runs.
const (
	KindSpeech    Kind = "speech"
	KindText      Kind = "text"
	KindImageText Kind = "image+text"
)

// File is one pinned file of a model. Path is relative to the model's
// directory and is also where the file sits under a mirror's
// <mirror>/<model name>/.
type File struct {
	Path   string
	URL    string // upstream, at a fixed revision
	Size   int64
	SHA256 string // lowercase hex
}

// Model is a model at one upstream revision: the exact files vindex needs
// to run it.
type Model struct {
	Name        string
	Version     string // the upstream revision, short
	Kind        Kind
	Description string
	Files       []File
}

// ID names the model and its revision ("clip-vit-b32@d15189d"). It is stored
// with every vector, so vectors from different revisions are never compared.
func (m Model) ID() string { return m.Name + "@" + m.Version }

// Size is the total size of the model's files in bytes.
func (m Model) Size() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// Models is a set of models, such as the Catalog.
type Models []Model

// ErrUnknownModel is returned for a model name a catalog does not have.
var ErrUnknownModel = errors.New("unknown model")

// Lookup returns the model called name.
func (ms Models) Lookup(name string) (Model, error) {
	for _, m := range ms {
		if m.Name == name {
			return m, nil
		}
	}
	return Model{}, fmt.Errorf("%w %q; known models: %s", ErrUnknownModel, name, strings.Join(ms.Names(), ", "))
}

// Names lists the models' names in catalog order.
func (ms Models) Names() []string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	return names
}

// Upstream revisions. The pins come from shared/models/MANIFEST.md: sizes
// and sha256 values of the Git LFS objects at these revisions.
const (
	whisperRev = "2575352d61be1bf7225cf8f8b268a4678025fc58" // HF onnx-community/whisper-tiny.en
	sherpaRev  = "d026532c022fa99fd789d6b32446a1df7b6bfc43" // HF csukuangfj/sherpa-onnx-whisper-tiny.en
	miniLMRev  = "fa97f6e7cb1a59073dff9e6b13e2715cf7475ac9" // HF sentence-transformers/all-MiniLM-L6-v2
	clipRev    = "d15189d7028b43f1d3e65039190477f6af591c2a" // HF Xenova/clip-vit-base-patch32
	openaiRev  = "d05afc436d78f1c48dc0dbf8e5980a9d471f35f6" // GitHub openai/CLIP
)

func huggingFace(repo, rev, path string) string {
	return "https://huggingface.co/" + repo + "/resolve/" + rev + "/" + path
}

// The models vindex runs locally.
var (
	// Whisper transcribes English speech: Whisper tiny.en exported to ONNX
	// (int8) for transformers.js, with the plain token table of the
	// sherpa-onnx export for detokenizing.
	Whisper = Model{
		Name:        "whisper-tiny.en",
		Version:     whisperRev[:7],
		Kind:        KindSpeech,
		Description: "OpenAI Whisper tiny.en speech recognition (English), ONNX int8",
		Files: []File{
			{
				Path:   "onnx/encoder_model_quantized.onnx",
				URL:    huggingFace("onnx-community/whisper-tiny.en", whisperRev, "onnx/encoder_model_quantized.onnx"),
				Size:   10124993,
				SHA256: "e93ec822f16a8fd264e7de972ad17d615ea7334b75a52d54c50c2e18dd503a25",
			},
			{
				Path:   "onnx/decoder_model_merged_quantized.onnx",
				URL:    huggingFace("onnx-community/whisper-tiny.en", whisperRev, "onnx/decoder_model_merged_quantized.onnx"),
				Size:   30718858,
				SHA256: "c0592d0749413c960569e1c7fb806b060d5d18f3ebad4a95cbf9a77dc6e9be52",
			},
			{
				Path:   "generation_config.json",
				URL:    huggingFace("onnx-community/whisper-tiny.en", whisperRev, "generation_config.json"),
				Size:   1646,
				SHA256: "7b2e8451ed5f118e75fdd991409d72119d21d2fef1eba9723f68fb9c57fe5dc9",
			},
			{
				Path:   "tiny.en-tokens.txt",
				URL:    huggingFace("csukuangfj/sherpa-onnx-whisper-tiny.en", sherpaRev, "tiny.en-tokens.txt"),
				Size:   835554,
				SHA256: "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
			},
		},
	}

	// MiniLM embeds text: sentence-transformers all-MiniLM-L6-v2 (384-d).
	MiniLM = Model{
		Name:        "all-minilm-l6-v2",
		Version:     miniLMRev[:7],
		Kind:        KindText,
		Description: "sentence-transformers all-MiniLM-L6-v2 sentence embeddings (384-d), ONNX fp32",
		Files: []File{
			{
				Path:   "onnx/model.onnx",
				URL:    huggingFace("sentence-transformers/all-MiniLM-L6-v2", miniLMRev, "onnx/model.onnx"),
				Size:   90405214,
				SHA256: "6fd5d72fe4589f189f8ebc006442dbb529bb7ce38f8082112682524616046452",
			},
			{
				Path:   "tokenizer.json",
				URL:    huggingFace("sentence-transformers/all-MiniLM-L6-v2", miniLMRev, "tokenizer.json"),
				Size:   466247,
				SHA256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
			},
		},
	}

	// CLIP embeds video frames and, into the same space, search queries:
	// OpenAI CLIP ViT-B/32 as separate int8 encoders, with OpenAI's
	// original BPE vocabulary.
	CLIP = Model{
		Name:        "clip-vit-b32",
		Version:     clipRev[:7],
		Kind:        KindImageText,
		Description: "OpenAI CLIP ViT-B/32 image and text embeddings (512-d), ONNX int8",
		Files: []File{
			{
				Path:   "onnx/vision_model_quantized.onnx",
				URL:    huggingFace("Xenova/clip-vit-base-patch32", clipRev, "onnx/vision_model_quantized.onnx"),
				Size:   89117001,
				SHA256: "583fd1110a514667812fee7d684952aaf82a99b959760c8d7dca7e0ab9839299",
			},
			{
				Path:   "onnx/text_model_quantized.onnx",
				URL:    huggingFace("Xenova/clip-vit-base-patch32", clipRev, "onnx/text_model_quantized.onnx"),
				Size:   64504507,
				SHA256: "73baab855d406190da9faa498cfedf65f15cf309f4cc7385b7b032e6d08e5c3a",
			},
			{
				Path:   "preprocessor_config.json",
				URL:    huggingFace("Xenova/clip-vit-base-patch32", clipRev, "preprocessor_config.json"),
				Size:   520,
				SHA256: "6f638fb9401a6d6296feff533ee7efe657b787c49f954f82f5906b36ef2a1b1f",
			},
			{
				Path:   "bpe_simple_vocab_16e6.txt.gz",
				URL:    "https://raw.githubusercontent.com/openai/CLIP/" + openaiRev + "/clip/bpe_simple_vocab_16e6.txt.gz",
				Size:   1356917,
				SHA256: "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a",
			},
		},
	}
)

// Catalog is every model vindex can run locally.
var Catalog = Models{Whisper, MiniLM, CLIP}

// WithOverrides returns the catalog with the models in the JSON file at path
// (an array of models with their files) replacing the built-in ones of the
// same name: other builds of the same models, such as an fp32 export or a
// private revision. Only built-in names are accepted, as the engines know
// each model's inputs and outputs by name.
func (ms Models) WithOverrides(path string) (Models, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model catalog: %w", err)
	}
	var over []Model
	if err := json.Unmarshal(data, &over); err != nil {
		return nil, fmt.Errorf("model catalog %s: %w", path, err)
	}
	out := slices.Clone(ms)
	for _, m := range over {
		i := slices.IndexFunc(out, func(b Model) bool { return b.Name == m.Name })
		if i < 0 {
			return nil, fmt.Errorf("model catalog %s: %w %q (known: %s)", path, ErrUnknownModel, m.Name, strings.Join(ms.Names(), ", "))
		}
		if m.Version == "" || len(m.Files) == 0 {
			return nil, fmt.Errorf("model catalog %s: %s needs a version and its files", path, m.Name)
		}
		for _, f := range m.Files {
			if f.Path == "" || f.Size <= 0 || len(f.SHA256) != 64 || strings.Contains(f.Path, "..") || filepath.IsAbs(f.Path) {
				return nil, fmt.Errorf("model catalog %s: %s: file %q needs a relative path, its size and its sha256", path, m.Name, f.Path)
			}
		}
		m.Kind, m.Description = out[i].Kind, out[i].Description
		out[i] = m
	}
	return out, nil
}
