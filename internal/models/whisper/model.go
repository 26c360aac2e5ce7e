package whisper

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vindex/vindex/internal/models"
	"github.com/vindex/vindex/internal/models/ort"
	"github.com/vindex/vindex/internal/models/tokenize"
)

// Files Load expects in a model directory (the onnx-community/whisper-tiny.en
// layout, plus the tokens table of the same vocabulary).
const (
	EncoderFile          = "onnx/encoder_model_quantized.onnx"
	DecoderFile          = "onnx/decoder_model_merged_quantized.onnx"
	TokensFile           = "tiny.en-tokens.txt"
	GenerationConfigFile = "generation_config.json"
)

// ErrModelMismatch is returned when the model files do not have the
// inputs, outputs or vocabulary of an optimum Whisper export.
var ErrModelMismatch = errors.New("model does not match the whisper export")

// No-speech detection, as openai/whisper's defaults: a window is skipped as
// silence when <|nocaptions|> is likely at the start and the decoded text
// is not confident either.
const (
	noSpeechThreshold = 0.6
	logprobThreshold  = -1.0
)

// Tensor names of the optimum export.
const (
	inFeatures     = "input_features"
	outHidden      = "last_hidden_state"
	inIDs          = "input_ids"
	inEncoderState = "encoder_hidden_states"
	inUseCache     = "use_cache_branch"
	outLogits      = "logits"
)

// Options tunes inference.
type Options struct {
	// Threads bounds the threads each ONNX Runtime session uses for one
	// operator; 0 leaves the runtime's default (one per core).
	Threads int
}

// Model is a loaded Whisper model. It is safe for concurrent use.
type Model struct {
	encoder, decoder *ort.Session
	tokens           *tokenize.WhisperTokens
	vocab            *vocab
	mel              *melExtractor

	layers, heads, headDim int
	// Per-layer tensor names, precomputed: the decoder loop uses them at
	// every step.
	pastDec, pastEnc, presentDec, presentEnc []string // key, value per layer
	stepOutputs                              []string // logits + present decoder
}

// Load opens the model in dir (see EncoderFile and the other file names).
// ONNX Runtime must already be initialised (ort.Init).
func Load(dir string, opt Options) (*Model, error) {
	m := &Model{mel: newMelExtractor()}
	var err error
	if m.vocab, err = loadVocab(filepath.Join(dir, GenerationConfigFile)); err != nil {
		return nil, fmt.Errorf("load whisper: %w", err)
	}
	if m.tokens, err = tokenize.LoadWhisperTokens(filepath.Join(dir, TokensFile)); err != nil {
		return nil, fmt.Errorf("load whisper: %w", err)
	}
	if m.tokens.Len() != m.vocab.eot {
		return nil, fmt.Errorf("load whisper: %w: %d text tokens but end of text is %d", ErrModelMismatch, m.tokens.Len(), m.vocab.eot)
	}
	so := ort.Options{IntraOpThreads: opt.Threads}
	if m.encoder, err = ort.Open(filepath.Join(dir, EncoderFile), so); err != nil {
		return nil, fmt.Errorf("load whisper encoder: %w", err)
	}
	if m.decoder, err = ort.Open(filepath.Join(dir, DecoderFile), so); err != nil {
		_ = m.encoder.Close() // the open error is the one to report
		return nil, fmt.Errorf("load whisper decoder: %w", err)
	}
	if err := m.checkSignatures(); err != nil {
		_ = m.Close() // the mismatch is the error to report
		return nil, fmt.Errorf("load whisper: %w", err)
	}
	return m, nil
}

// checkSignatures verifies the sessions' inputs and outputs and reads the
// decoder's geometry (layers, heads, head size) from them.
func (m *Model) checkSignatures() error {
	encIn, encOut := infoMap(m.encoder.Inputs()), infoMap(m.encoder.Outputs())
	for _, c := range []tensorSpec{
		{encIn, "encoder input", inFeatures, ort.Float32, []int64{-1, nMels, windowFrames}},
		{encOut, "encoder output", outHidden, ort.Float32, []int64{-1, -1, -1}},
	} {
		if err := c.check(); err != nil {
			return err
		}
	}

	decIn, decOut := infoMap(m.decoder.Inputs()), infoMap(m.decoder.Outputs())
	for m.layers = 0; ; m.layers++ {
		if _, ok := decIn[fmt.Sprintf("past_key_values.%d.decoder.key", m.layers)]; !ok {
			break
		}
	}
	if m.layers == 0 {
		return fmt.Errorf("%w: decoder has no past_key_values inputs (not a merged decoder?)", ErrModelMismatch)
	}
	past0 := decIn["past_key_values.0.decoder.key"].Shape
	if len(past0) != 4 || past0[1] <= 0 || past0[3] <= 0 {
		return fmt.Errorf("%w: past_key_values.0.decoder.key has shape %v, want [batch, heads, past, head size]", ErrModelMismatch, past0)
	}
	m.heads, m.headDim = int(past0[1]), int(past0[3])

	checks := []tensorSpec{
		{decIn, "decoder input", inIDs, ort.Int64, []int64{-1, -1}},
		{decIn, "decoder input", inEncoderState, ort.Float32, []int64{-1, -1, -1}},
		{decIn, "decoder input", inUseCache, ort.Bool, []int64{1}},
		{decOut, "decoder output", outLogits, ort.Float32, []int64{-1, -1, int64(m.vocab.size)}},
	}
	kv := []int64{-1, int64(m.heads), -1, int64(m.headDim)}
	m.stepOutputs = []string{outLogits}
	for i := range m.layers {
		for _, kind := range []string{"key", "value"} {
			pd := fmt.Sprintf("past_key_values.%d.decoder.%s", i, kind)
			pe := fmt.Sprintf("past_key_values.%d.encoder.%s", i, kind)
			nd := fmt.Sprintf("present.%d.decoder.%s", i, kind)
			ne := fmt.Sprintf("present.%d.encoder.%s", i, kind)
			m.pastDec, m.pastEnc = append(m.pastDec, pd), append(m.pastEnc, pe)
			m.presentDec, m.presentEnc = append(m.presentDec, nd), append(m.presentEnc, ne)
			checks = append(checks,
				tensorSpec{decIn, "decoder input", pd, ort.Float32, kv},
				tensorSpec{decIn, "decoder input", pe, ort.Float32, kv},
				tensorSpec{decOut, "decoder output", nd, ort.Float32, kv},
				tensorSpec{decOut, "decoder output", ne, ort.Float32, kv},
			)
		}
	}
	m.stepOutputs = append(m.stepOutputs, m.presentDec...)
	for _, c := range checks {
		if err := c.check(); err != nil {
			return err
		}
	}
	// Every input must be fed, so one this package does not know about
	// (a newer export's extra input) would fail at the first step instead.
	known := map[string]bool{inIDs: true, inEncoderState: true, inUseCache: true}
	for _, n := range slices.Concat(m.pastDec, m.pastEnc) {
		known[n] = true
	}
	var extra []string
	for n := range decIn {
		if !known[n] {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return fmt.Errorf("%w: unexpected decoder inputs %s", ErrModelMismatch, strings.Join(extra, ", "))
	}
	return nil
}

func infoMap(infos []ort.Info) map[string]ort.Info {
	out := make(map[string]ort.Info, len(infos))
	for _, i := range infos {
		out[i.Name] = i
	}
	return out
}

// tensorSpec is a tensor a session must have: its type, and a shape where
// -1 matches any dimension (as does a symbolic model dimension).
type tensorSpec struct {
	infos map[string]ort.Info
	what  string // "decoder input", …
	name  string
	typ   ort.ElemType
	shape []int64
}

func (c tensorSpec) check() error {
	info, ok := c.infos[c.name]
	if !ok {
		have := make([]string, 0, len(c.infos))
		for n := range c.infos {
			have = append(have, n)
		}
		slices.Sort(have)
		return fmt.Errorf("%w: no %s %q (have %s)", ErrModelMismatch, c.what, c.name, strings.Join(have, ", "))
	}
	if info.Type != c.typ {
		return fmt.Errorf("%w: %s %q is %s, want %s", ErrModelMismatch, c.what, c.name, info.Type, c.typ)
	}
	if info.Shape == nil {
		return nil // rank unknown to the model; Run reports a real mismatch
	}
	ok = len(info.Shape) == len(c.shape)
	for i := 0; ok && i < len(c.shape); i++ {
		ok = c.shape[i] < 0 || info.Shape[i] < 0 || c.shape[i] == info.Shape[i]
	}
	if !ok {
		return fmt.Errorf("%w: %s %q has shape %v, want %v", ErrModelMismatch, c.what, c.name, info.Shape, c.shape)
	}
	return nil
}

// Close releases the ONNX Runtime sessions.
func (m *Model) Close() error {
	var errs []error
	if m.encoder != nil {
		errs = append(errs, m.encoder.Close())
	}
	if m.decoder != nil {
		errs = append(errs, m.decoder.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close whisper: %w", err)
	}
	return nil
}

// TranscribeFile transcribes a 16 kHz mono 16-bit PCM WAV file (see
// ReadWAV).
func (m *Model) TranscribeFile(ctx context.Context, wavPath string, progress func(doneSeconds float64)) ([]models.Segment, error) {
	samples, err := ReadWAV(wavPath)
	if err != nil {
		return nil, fmt.Errorf("transcribe: %w", err)
	}
	return m.Transcribe(ctx, samples, progress)
}

// Transcribe transcribes 16 kHz mono samples in [-1, 1] as openai/whisper's
// transcribe does with greedy decoding and timestamps: 30 s windows, each
// starting where the last complete segment of the previous one ended.
// Segments are in order, with trimmed, non-empty text and times within the
// audio. progress, if not nil, is called after every window with the
// seconds of audio done.
func (m *Model) Transcribe(ctx context.Context, samples []float32, progress func(doneSeconds float64)) ([]models.Segment, error) {
	duration := float64(len(samples)) / SampleRate
	content := numFrames(len(samples))
	features := make([]float32, nMels*windowFrames)
	var segments []models.Segment
	for seek := 0; seek < content; {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("transcribe: %w", err)
		}
		frames := min(windowFrames, content-seek)
		offset := float64(seek) * hopLength / SampleRate
		m.mel.window(features, samples, seek)
		res, err := m.decodeWindow(ctx, features)
		if err != nil {
			return nil, fmt.Errorf("transcribe window at %.2fs: %w", offset, err)
		}
		if res.noSpeech > noSpeechThreshold && res.avgLogprob <= logprobThreshold {
			seek += frames
		} else {
			spans, advance := m.vocab.split(res.tokens, frames)
			for _, s := range spans {
				seg := models.Segment{
					Start: offset + s.start,
					End:   min(offset+s.end, duration),
					Text:  strings.TrimSpace(m.tokens.Decode(s.tokens)),
				}
				if seg.Text == "" || seg.Start >= seg.End {
					continue // blank, instantaneous, or past the end of the audio
				}
				segments = append(segments, seg)
			}
			seek += advance
		}
		if progress != nil {
			progress(min(float64(seek)*hopLength/SampleRate, duration))
		}
	}
	return segments, nil
}

// windowResult is the greedy decode of one window.
type windowResult struct {
	tokens   []int   // sampled tokens, without end of text
	noSpeech float64 // probability of <|nocaptions|> at the start
	// avgLogprob is the mean log-probability of the sampled tokens and end
	// of text, computed only when noSpeech is above the threshold (0 otherwise).
	avgLogprob float64
}

// decodeWindow encodes one window of features and decodes it greedily with
// the KV cache: the first step runs the prompt without cache and yields the
// cross-attention keys and values, which every later step reuses while
// feeding one token and the growing self-attention cache.
func (m *Model) decodeWindow(ctx context.Context, features []float32) (windowResult, error) {
	enc, err := m.encoder.Run(ctx, map[string]*ort.Tensor{
		inFeatures: ort.Float32Tensor(features, 1, nMels, windowFrames),
	}, outHidden)
	if err != nil {
		return windowResult{}, fmt.Errorf("encode: %w", err)
	}

	prompt := []int{m.vocab.sot}
	in := map[string]*ort.Tensor{
		inIDs:          ort.Int64Tensor(toInt64(prompt), 1, int64(len(prompt))),
		inEncoderState: enc[outHidden],
		inUseCache:     ort.BoolTensor([]bool{false}, 1),
	}
	empty := ort.Float32Tensor(nil, 1, int64(m.heads), 0, int64(m.headDim))
	for i := range m.pastDec {
		in[m.pastDec[i]], in[m.pastEnc[i]] = empty, empty
	}
	out, err := m.decoder.Run(ctx, in, append(slices.Clone(m.stepOutputs), m.presentEnc...)...)
	if err != nil {
		return windowResult{}, fmt.Errorf("decode step 1: %w", err)
	}

	var res windowResult
	logits, err := m.lastLogits(out[outLogits], len(prompt))
	if err != nil {
		return windowResult{}, err
	}
	// Probability of <|nocaptions|> before any rule masks it.
	res.noSpeech = math.Exp(logProb(logits, m.vocab.noSpeech))
	// Log-probs only decide anything when the window may be silent; they
	// cost a pass over the vocabulary per step, so skip them otherwise.
	scoring := res.noSpeech > noSpeechThreshold
	var sumLogprob float64
	scored := 0

	in[inUseCache] = ort.BoolTensor([]bool{true}, 1)
	for i := range m.pastEnc {
		in[m.pastEnc[i]] = out[m.presentEnc[i]]
	}
	var sampled []int
	for len(prompt)+len(sampled) < m.vocab.maxTokens {
		m.vocab.applyRules(logits, sampled)
		tok := argmax(logits)
		if math.IsInf(float64(logits[tok]), -1) {
			break // every token masked: nothing valid to say
		}
		if scoring {
			sumLogprob += logProb(logits, tok)
			scored++
		}
		if tok == m.vocab.eot {
			break
		}
		sampled = append(sampled, tok)
		if tok < m.vocab.eot {
			var looped bool
			if sampled, looped = m.vocab.cutLoop(sampled); looped {
				break
			}
		}
		if len(prompt)+len(sampled) == m.vocab.maxTokens {
			break // the decoder has no position for another token
		}

		in[inIDs] = ort.Int64Tensor([]int64{int64(tok)}, 1, 1)
		for i := range m.pastDec {
			in[m.pastDec[i]] = out[m.presentDec[i]]
		}
		if out, err = m.decoder.Run(ctx, in, m.stepOutputs...); err != nil {
			return windowResult{}, fmt.Errorf("decode step %d: %w", len(sampled)+1, err)
		}
		if logits, err = m.lastLogits(out[outLogits], 1); err != nil {
			return windowResult{}, err
		}
	}
	res.tokens = sampled
	if scored > 0 {
		res.avgLogprob = sumLogprob / float64(scored)
	}
	return res, nil
}

// lastLogits returns the logits of the last of seq positions.
func (m *Model) lastLogits(t *ort.Tensor, seq int) ([]float32, error) {
	v := m.vocab.size
	if len(t.Shape) != 3 || t.Shape[0] != 1 || int(t.Shape[1]) != seq || int(t.Shape[2]) != v {
		return nil, fmt.Errorf("%w: logits shape %v, want [1 %d %d]", ErrModelMismatch, t.Shape, seq, v)
	}
	return t.Float32[(seq-1)*v:], nil
}

func toInt64(ids []int) []int64 {
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[i] = int64(id)
	}
	return out
}
