// Package whisper transcribes speech with OpenAI's Whisper (the English-only
// tiny.en model in the onnx-community/optimum ONNX export) on ONNX Runtime,
// in pure Go apart from the runtime itself.
//
// It owns the whole path from a 16 kHz mono WAV file to timed segments:
// the WAV reader, Whisper's log-mel front end (its own FFT, parallel across
// frames), the encoder and the KV-cached merged decoder, and the decoding
// rules of openai/whisper's transcribe: greedy search with timestamps, the
// logit filters (suppressed tokens, timestamp pairing and monotonicity, the
// initial-timestamp limit, the timestamp-mass rule), 30 s windows that seek
// to the last complete segment, no-speech skipping, and a repetition guard
// that cuts the decoder's loops on silence or music.
package whisper
