// Package models owns vindex's neural models: the catalog of pinned model
// files, their download and verification into the data dir, and the types the
// model engines share. The engines live in sub-packages: ort (ONNX Runtime),
// tokenize, whisper, embed (sentence and CLIP embedders), openai (hosted
// providers speaking the OpenAI protocol) and sphinx (the offline fallback
// transcriber).
package models

// Segment is a timed piece of a transcript, in seconds from the start of
// the audio.
type Segment struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Text  string  `json:"text"`
}
