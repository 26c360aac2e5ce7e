package whisper

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models/onnxgen"
	"github.com/vindex/vindex/internal/models/ort"
	"github.com/vindex/vindex/internal/testmedia"
)

// Geometry of whisper-tiny.en, which the generated models copy.
const (
	fakeLayers   = 4
	fakeHeads    = 6
	fakeHeadDim  = 64
	fakeAudioCtx = 1500
	fakeState    = fakeHeads * fakeHeadDim // 384
	fakeVocab    = 51864
	// scriptLogit makes the scripted token dominate: softmax puts all but
	// e⁻³⁰·51863 ≈ 5e-9 of the mass on it.
	scriptLogit = 30
)

// fakeSpec describes a pair of generated models with the optimum export's
// names and shapes. The decoder's logits are a one-hot of script[position],
// where position counts from the start of the window through the KV cache:
// the past decoder length (when use_cache_branch is set) plus the index in
// input_ids. A wrong past length, a cache branch not taken, or a missing
// encoder cache (past encoder length other than 1500) shifts or breaks the
// script, so correct output proves the cache plumbing.
type fakeSpec struct {
	script []int // tokens by position; padded with end of text to 448

	// Mutations for the load checks.
	encoderInput string // default input_features
	omitInput    string // a decoder input left out
	extraInput   string // a decoder input added
	vocab        int    // logits width, default 51864
	config       string // generation_config.json contents, default the real file
}

// fakeModelDir writes the models of spec, the real tokens table and the
// real generation config into a temporary model directory.
func fakeModelDir(t testing.TB, spec fakeSpec) string {
	t.Helper()
	require.NoError(t, ort.Init(testmedia.ORTLib(t)))
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "onnx"), 0o755))

	tokens, err := os.ReadFile(testmedia.Model(t, "whisper-tiny.en", TokensFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, TokensFile), tokens, 0o644))
	config := []byte(spec.config)
	if spec.config == "" {
		config, err = os.ReadFile(testmedia.Model(t, "whisper-tiny.en", "onnx-community", GenerationConfigFile))
		require.NoError(t, err)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, GenerationConfigFile), config, 0o644))

	require.NoError(t, fakeEncoder(spec).Write(filepath.Join(dir, EncoderFile)))
	require.NoError(t, fakeDecoder(spec).Write(filepath.Join(dir, DecoderFile)))
	return dir
}

// fakeEncoder maps features to hidden states filled with the window's
// largest feature.
func fakeEncoder(spec fakeSpec) *onnxgen.ModelProto {
	in := spec.encoderInput
	if in == "" {
		in = "input_features"
	}
	g := onnxgen.NewGraph("whisper_encoder")
	// The optimum export leaves the sequence axes symbolic.
	g.Input(in, onnxgen.Float32, "batch_size", nMels, "encoder_sequence_length")
	g.Output("last_hidden_state", onnxgen.Float32, "batch_size", "encoder_sequence_length / 2", fakeState)
	g.Int64Init("hidden_shape", []int64{1, fakeAudioCtx, fakeState}, 3)
	g.Node("ReduceMax", []string{in}, []string{"peak"}, onnxgen.Int("keepdims", 1))
	g.Node("Expand", []string{"peak", "hidden_shape"}, []string{"last_hidden_state"})
	return onnxgen.Model(g, 17, nil)
}

func fakeDecoder(spec fakeSpec) *onnxgen.ModelProto {
	vocab := spec.vocab
	if vocab == 0 {
		vocab = fakeVocab
	}
	script := make([]int64, textContext)
	for i := range script {
		script[i] = tokEOT
		if i < len(spec.script) {
			script[i] = int64(spec.script[i])
		}
	}

	g := onnxgen.NewGraph("whisper_decoder_merged")
	input := func(name string, t onnxgen.ElemType, dims ...any) {
		if name != spec.omitInput {
			g.Input(name, t, dims...)
		}
	}
	input("input_ids", onnxgen.Int64, "batch_size", "decoder_sequence_length")
	input("encoder_hidden_states", onnxgen.Float32, "batch_size", "encoder_sequence_length / 2", fakeState)
	for i := range fakeLayers {
		for _, kind := range []string{"key", "value"} {
			input(fmt.Sprintf("past_key_values.%d.decoder.%s", i, kind), onnxgen.Float32,
				"batch_size", fakeHeads, "past_decoder_sequence_length", fakeHeadDim)
			input(fmt.Sprintf("past_key_values.%d.encoder.%s", i, kind), onnxgen.Float32,
				"batch_size", fakeHeads, "encoder_sequence_length_out", fakeHeadDim)
		}
	}
	input("use_cache_branch", onnxgen.Bool, 1)
	if spec.extraInput != "" {
		g.Input(spec.extraInput, onnxgen.Int64, 1)
	}

	g.Output("logits", onnxgen.Float32, "batch_size", "decoder_sequence_length", vocab)
	for i := range fakeLayers {
		for _, kind := range []string{"key", "value"} {
			g.Output(fmt.Sprintf("present.%d.decoder.%s", i, kind), onnxgen.Float32,
				"batch_size", fakeHeads, "present_decoder_sequence_length", fakeHeadDim)
			g.Output(fmt.Sprintf("present.%d.encoder.%s", i, kind), onnxgen.Float32,
				"batch_size", fakeHeads, "encoder_sequence_length_out", fakeHeadDim)
		}
	}

	g.Int64Init("script", script, textContext)
	g.Int64Init("i1", []int64{1}, 1)
	g.Int64Init("i2", []int64{2}, 1)
	g.Int64Init("i0", []int64{0}, 1)
	g.Int64Init("one", []int64{1})
	g.Int64Init("audio_ctx", []int64{fakeAudioCtx}, 1)
	g.Int64Init("audio_ctx_less_1", []int64{fakeAudioCtx - 1}, 1)
	g.Int64Init("depth", []int64{int64(vocab)})
	g.Float32Init("onehot_values", []float32{0, scriptLogit}, 2)
	g.Int64Init("kv_head", []int64{1, fakeHeads}, 2)
	g.Int64Init("kv_tail", []int64{fakeHeadDim}, 1)
	g.Int64Init("kv_by_pos", []int64{1, 1, -1, 1}, 4)
	g.Int64Init("split_heads", []int64{1, -1, fakeHeads, fakeHeadDim}, 4)

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

	for i := range fakeLayers {
		for _, kind := range []string{"key", "value"} {
			g.Node("Concat",
				[]string{fmt.Sprintf("past_key_values.%d.decoder.%s", i, kind), "new_kv"},
				[]string{fmt.Sprintf("present.%d.decoder.%s", i, kind)}, onnxgen.Int("axis", 2))
			g.Node("Identity", []string{"enc_kv"}, []string{fmt.Sprintf("present.%d.encoder.%s", i, kind)})
		}
	}
	return onnxgen.Model(g, 17, nil)
}

// loadFake writes and loads a model for spec.
func loadFake(t testing.TB, spec fakeSpec) *Model {
	t.Helper()
	m, err := Load(fakeModelDir(t, spec), Options{Threads: 1})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	return m
}
