// Package whispertest generates stand-ins for the whisper-tiny.en ONNX
// export, so that tests can run the whisper package, and everything built
// on it, end to end on machines without the real weights.
//
// WriteDir writes a model directory that whisper.Load accepts: an encoder
// and a KV-cached merged decoder with the optimum export's input and output
// names and shapes, beside the real tokens table and generation config. The
// decoder does not listen; it emits a script, the same in every 30 s window:
//
//	segs := []models.Segment{{Start: 0, End: 4, Text: "ask not what your country can do for you"}}
//	tokens, err := whispertest.Script(tokensPath, segs...)
//	err = whispertest.WriteDir(dir, whispertest.Spec{Tokens: tokens}, tokensPath, configPath)
//	m, err := whisper.Load(dir, whisper.Options{}) // after ort.Init
//	got, err := m.TranscribeFile(ctx, wavPath, nil) // segs, for audio of 30 s or less
//
// whisper's own tests import this package, so it cannot import whisper; the
// file names and geometry below are tiny.en's, and this package's tests
// check them against whisper.Load.
package whispertest

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/vindex/vindex/internal/models/onnxgen"
)

// Special token ids of whisper-tiny.en (English-only vocabulary).
const (
	// EndOfText is <|endoftext|>, the first id after the text tokens.
	EndOfText = 50256
	// NoSpeech is <|nocaptions|>: as a window's first token, it makes
	// whisper skip the window unless the rest is decoded confidently.
	NoSpeech = 50361
	// TimestampBegin is <|0.00|>; see Timestamp.
	TimestampBegin = 50363
)

// Files of a model directory, as whisper.Load expects them.
const (
	encoderFile          = "onnx/encoder_model_quantized.onnx"
	decoderFile          = "onnx/decoder_model_merged_quantized.onnx"
	tokensFile           = "tiny.en-tokens.txt"
	generationConfigFile = "generation_config.json"
)

// Geometry of whisper-tiny.en, which the generated models copy.
const (
	layers      = 4
	heads       = 6
	headDim     = 64
	audioCtx    = 1500 // encoder positions per window
	state       = heads * headDim
	vocabSize   = 51864
	nMels       = 80
	textContext = 448 // decoder positions
	// scriptLogit makes the scripted token dominate: softmax puts all but
	// e⁻³⁰·51863 ≈ 5e-9 of the mass on it.
	scriptLogit = 30
)

// Spec describes a generated model pair.
type Spec struct {
	// Tokens are what the decoder emits in every window, in order after
	// <|startoftranscript|>: text ids below EndOfText, timestamps, NoSpeech,
	// EndOfText. Past the end it emits EndOfText. At most 448; Script
	// builds them from segments.
	//
	// Whisper's decoding rules still apply, as they do to the real model:
	// a token they mask is replaced by the likeliest allowed one.
	Tokens []int

	// The rest break the export's signature, for tests of a loader's
	// checks; zero values give the real one.
	EncoderInput string // the encoder's input name instead of input_features
	OmitInput    string // a decoder input to leave out
	ExtraInput   string // a decoder input to add (int64, shape [1])
	Vocab        int    // width of the logits instead of 51864
}

// WriteDir writes the models of spec into dir (created if need be) with
// the tokens table and generation config copied from tokensPath and
// generationConfigPath, the real tiny.en files. ONNX Runtime is not
// needed to write them, only to load them.
//
// The decoder's logits are a one-hot of Tokens[position], where position
// counts from the start of the window through the KV cache: the past
// decoder length (when use_cache_branch is set) plus the index in
// input_ids. A wrong past length, a cache branch not taken, or a missing
// encoder cache (past encoder length other than 1500) shifts or breaks the
// script, so a correct transcript proves the caller's cache plumbing.
func WriteDir(dir string, spec Spec, tokensPath, generationConfigPath string) error {
	if err := writeDir(dir, spec, tokensPath, generationConfigPath); err != nil {
		return fmt.Errorf("write whisper test model: %w", err)
	}
	return nil
}

func writeDir(dir string, spec Spec, tokensPath, generationConfigPath string) error {
	if spec.Vocab == 0 {
		spec.Vocab = vocabSize
	}
	if len(spec.Tokens) > textContext {
		return fmt.Errorf("%d tokens, the decoder has %d positions", len(spec.Tokens), textContext)
	}
	for i, tok := range spec.Tokens {
		if tok < 0 || tok >= spec.Vocab {
			return fmt.Errorf("token %d at %d outside the vocabulary of %d", tok, i, spec.Vocab)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(encoderFile)), 0o755); err != nil {
		return err
	}
	for _, c := range []struct{ from, to string }{
		{tokensPath, tokensFile},
		{generationConfigPath, generationConfigFile},
	} {
		data, err := os.ReadFile(c.from)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, c.to), data, 0o644); err != nil {
			return err
		}
	}
	if err := encoder(spec).Write(filepath.Join(dir, encoderFile)); err != nil {
		return fmt.Errorf("encoder: %w", err)
	}
	if err := decoder(spec).Write(filepath.Join(dir, decoderFile)); err != nil {
		return fmt.Errorf("decoder: %w", err)
	}
	return nil
}

// encoder maps features to hidden states filled with the window's largest
// feature.
func encoder(spec Spec) *onnxgen.ModelProto {
	in := spec.EncoderInput
	if in == "" {
		in = "input_features"
	}
	g := onnxgen.NewGraph("whisper_encoder")
	// The optimum export leaves the sequence axes symbolic.
	g.Input(in, onnxgen.Float32, "batch_size", nMels, "encoder_sequence_length")
	g.Output("last_hidden_state", onnxgen.Float32, "batch_size", "encoder_sequence_length / 2", state)
	g.Int64Init("hidden_shape", []int64{1, audioCtx, state}, 3)
	g.Node("ReduceMax", []string{in}, []string{"peak"}, onnxgen.Int("keepdims", 1))
	g.Node("Expand", []string{"peak", "hidden_shape"}, []string{"last_hidden_state"})
	return onnxgen.Model(g, 17, nil)
}

func decoder(spec Spec) *onnxgen.ModelProto {
	script := make([]int64, textContext)
	for i := range script {
		script[i] = EndOfText
		if i < len(spec.Tokens) {
			script[i] = int64(spec.Tokens[i])
		}
	}

	g := onnxgen.NewGraph("whisper_decoder_merged")
	input := func(name string, t onnxgen.ElemType, dims ...any) {
		if name != spec.OmitInput {
			g.Input(name, t, dims...)
		}
	}
	input("input_ids", onnxgen.Int64, "batch_size", "decoder_sequence_length")
	input("encoder_hidden_states", onnxgen.Float32, "batch_size", "encoder_sequence_length / 2", state)
	for i := range layers {
		for _, kind := range []string{"key", "value"} {
			input(fmt.Sprintf("past_key_values.%d.decoder.%s", i, kind), onnxgen.Float32,
				"batch_size", heads, "past_decoder_sequence_length", headDim)
			input(fmt.Sprintf("past_key_values.%d.encoder.%s", i, kind), onnxgen.Float32,
				"batch_size", heads, "encoder_sequence_length_out", headDim)
		}
	}
	input("use_cache_branch", onnxgen.Bool, 1)
	if spec.ExtraInput != "" {
		g.Input(spec.ExtraInput, onnxgen.Int64, 1)
	}

	g.Output("logits", onnxgen.Float32, "batch_size", "decoder_sequence_length", spec.Vocab)
	for i := range layers {
		for _, kind := range []string{"key", "value"} {
			g.Output(fmt.Sprintf("present.%d.decoder.%s", i, kind), onnxgen.Float32,
				"batch_size", heads, "present_decoder_sequence_length", headDim)
			g.Output(fmt.Sprintf("present.%d.encoder.%s", i, kind), onnxgen.Float32,
				"batch_size", heads, "encoder_sequence_length_out", headDim)
		}
	}

	g.Int64Init("script", script, textContext)
	g.Int64Init("i1", []int64{1}, 1)
	g.Int64Init("i2", []int64{2}, 1)
	g.Int64Init("i0", []int64{0}, 1)
	g.Int64Init("one", []int64{1})
	g.Int64Init("audio_ctx", []int64{audioCtx}, 1)
	g.Int64Init("audio_ctx_less_1", []int64{audioCtx - 1}, 1)
	g.Int64Init("depth", []int64{int64(spec.Vocab)})
	g.Float32Init("onehot_values", []float32{0, scriptLogit}, 2)
	g.Int64Init("kv_head", []int64{1, heads}, 2)
	g.Int64Init("kv_tail", []int64{headDim}, 1)
	g.Int64Init("kv_by_pos", []int64{1, 1, -1, 1}, 4)
	g.Int64Init("split_heads", []int64{1, -1, heads, headDim}, 4)

	// Cache state: c = use_cache_branch as 0/1; the past lengths.
	g.Node("Cast", []string{"use_cache_branch"}, []string{"c"}, onnxgen.Int("to", int64(onnxgen.Int64)))
	g.Node("Shape", []string{"input_ids"}, []string{"ids_shape"})
	g.Node("Gather", []string{"ids_shape", "i1"}, []string{"seq"})
	g.Node("Shape", []string{"past_key_values.0.decoder.key"}, []string{"dec_shape"})
	g.Node("Gather", []string{"dec_shape", "i2"}, []string{"past_len"})
	g.Node("Shape", []string{"past_key_values.0.encoder.key"}, []string{"enc_shape"})
	g.Node("Gather", []string{"enc_shape", "i2"}, []string{"enc_len"})

	// positions = c·(past_len + 1500 − enc_len) + [0, seq).
	g.Node("Sub", []string{"audio_ctx", "enc_len"}, []string{"enc_missing"})
	g.Node("Add", []string{"past_len", "enc_missing"}, []string{"past_pos"})
	g.Node("Mul", []string{"c", "past_pos"}, []string{"offset"})
	g.Node("Add", []string{"offset", "seq"}, []string{"limit"})
	g.Node("Squeeze", []string{"offset", "i0"}, []string{"offset0"})
	g.Node("Squeeze", []string{"limit", "i0"}, []string{"limit0"})
	g.Node("Range", []string{"offset0", "limit0", "one"}, []string{"positions"})
	g.Node("Gather", []string{"script", "positions"}, []string{"tokens"})
	g.Node("OneHot", []string{"tokens", "depth", "onehot_values"}, []string{"onehot"})
	g.Node("Unsqueeze", []string{"onehot", "i0"}, []string{"logits"})

	// The new cache rows hold the fed token ids.
	g.Node("Cast", []string{"input_ids"}, []string{"ids_f"}, onnxgen.Int("to", int64(onnxgen.Float32)))
	g.Node("Reshape", []string{"ids_f", "kv_by_pos"}, []string{"ids_col"})
	g.Node("Concat", []string{"kv_head", "seq", "kv_tail"}, []string{"new_shape"}, onnxgen.Int("axis", 0))
	g.Node("Expand", []string{"ids_col", "new_shape"}, []string{"new_kv"})

	// Cross-attention cache: the real export computes it only without the
	// cache branch; with it, optimum's merge returns empty placeholders of
	// shape [0, 6, 1, 64], so callers must keep the first step's.
	g.Node("Mul", []string{"c", "audio_ctx_less_1"}, []string{"enc_drop"})
	g.Node("Sub", []string{"audio_ctx", "enc_drop"}, []string{"enc_rows"})
	g.Node("Sub", []string{"i1", "c"}, []string{"enc_batch"})
	g.Node("Slice", []string{"encoder_hidden_states", "i0", "enc_rows", "i1"}, []string{"enc_sel"})
	g.Node("Reshape", []string{"enc_sel", "split_heads"}, []string{"enc_split"})
	g.Node("Transpose", []string{"enc_split"}, []string{"enc_t"}, onnxgen.Ints("perm", 0, 2, 1, 3))
	g.Node("Slice", []string{"enc_t", "i0", "enc_batch", "i0"}, []string{"enc_kv"})

	for i := range layers {
		for _, kind := range []string{"key", "value"} {
			g.Node("Concat",
				[]string{fmt.Sprintf("past_key_values.%d.decoder.%s", i, kind), "new_kv"},
				[]string{fmt.Sprintf("present.%d.decoder.%s", i, kind)}, onnxgen.Int("axis", 2))
			g.Node("Identity", []string{"enc_kv"}, []string{fmt.Sprintf("present.%d.encoder.%s", i, kind)})
		}
	}
	return onnxgen.Model(g, 17, nil)
}
