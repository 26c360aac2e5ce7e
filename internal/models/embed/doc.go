// Package embed turns text and images into unit-length vectors with ONNX
// Runtime: all-MiniLM-L6-v2 for sentence embeddings (384-d) and CLIP
// ViT-B/32 (the separate vision and text encoders of the transformers.js
// export, 512-d) for joint image–text search.
//
// Everything the models need around the graph lives here: tokenisation
// through package tokenize, sentence-transformers' mean pooling, and CLIP's
// image preprocessing, which follows preprocessor_config.json with
// transformers' exact geometry and Pillow's bicubic resampler so the pixels
// match what the model saw in training. Vectors are L2-normalised, so a dot
// product is the cosine similarity.
//
// Embedders are safe for concurrent use; each call batches its inputs.
package embed

import "errors"

var (
	// ErrModelMismatch means an ONNX file lacks the inputs or outputs of
	// the export this package expects, usually the wrong file in the dir.
	ErrModelMismatch = errors.New("model does not match the expected export")
	// ErrUnsupportedConfig means preprocessor_config.json asks for
	// something this package does not implement.
	ErrUnsupportedConfig = errors.New("unsupported preprocessor config")
	// ErrBadImage means an image could not be decoded or is empty; callers
	// embedding many frames may skip it rather than fail the whole job.
	ErrBadImage = errors.New("bad image")
)
