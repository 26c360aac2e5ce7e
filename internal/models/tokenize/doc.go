// Package tokenize turns text into the token ids vindex's models consume, and
// Whisper's output ids back into text. Each tokenizer is read from its
// model's own upstream file, so the ids match the reference implementations
// exactly:
//
//   - WordPiece, for the BERT-family sentence embedder (all-MiniLM-L6-v2),
//     from a Hugging Face tokenizer.json;
//   - CLIP, OpenAI's byte-level BPE, from bpe_simple_vocab_16e6.txt.gz;
//   - WhisperTokens, Whisper's byte-token table (tiny.en-tokens.txt), for
//     decoding.
//
// Tokenizers are immutable once loaded (CLIP's word cache synchronises
// itself) and safe for concurrent use.
package tokenize

import "errors"

// Errors a loader wraps, for callers that tell a damaged file from one
// written for a tokenizer this package does not implement.
var (
	// ErrFormat means the file is not a well-formed tokenizer file.
	ErrFormat = errors.New("malformed tokenizer file")
	// ErrUnsupported means the file is well formed but asks for a
	// tokenizer component or option this package does not implement.
	ErrUnsupported = errors.New("unsupported tokenizer")
)
