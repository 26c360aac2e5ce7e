package whisper

import (
	"encoding/json"
	"fmt"
	"os"
)

// generationConfig is the part of Hugging Face's generation_config.json that
// greedy decoding with timestamps needs.
type generationConfig struct {
	SuppressTokens           []int `json:"suppress_tokens"`
	BeginSuppressTokens      []int `json:"begin_suppress_tokens"`
	NoTimestampsTokenID      *int  `json:"no_timestamps_token_id"`
	MaxInitialTimestampIndex *int  `json:"max_initial_timestamp_index"`
	EOSTokenID               *int  `json:"eos_token_id"`
	DecoderStartTokenID      *int  `json:"decoder_start_token_id"`
	MaxLength                int   `json:"max_length"`
	IsMultilingual           bool  `json:"is_multilingual"`
}

// Whisper's timestamp tokens: <|0.00|> … <|30.00|> in steps of 0.02 s.
const (
	timestampCount = 1501
	timePrecision  = 0.02 // seconds per timestamp step
	framesPerStep  = 2    // mel frames per timestamp step (3000 frames / 1500 encoder positions)
	textContext    = 448  // decoder positions (n_text_ctx)
)

// vocab holds the special token ids and logit rules of one model.
type vocab struct {
	eot, sot       int
	noSpeech       int // <|nocaptions|>
	noTimestamps   int
	timestampBegin int // <|0.00|>
	size           int // logits width
	suppress       []int
	beginSuppress  []int
	maxInitialTS   int // largest timestamp index allowed as the first token; -1 for no limit
	maxTokens      int // prompt plus sampled tokens
}

func loadVocab(path string) (*vocab, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read generation config: %w", err)
	}
	var gc generationConfig
	if err := json.Unmarshal(raw, &gc); err != nil {
		return nil, fmt.Errorf("parse generation config %s: %w", path, err)
	}
	v, err := gc.vocab()
	if err != nil {
		return nil, fmt.Errorf("generation config %s: %w", path, err)
	}
	return v, nil
}

func (gc *generationConfig) vocab() (*vocab, error) {
	if gc.IsMultilingual {
		// A multilingual model needs language and task tokens in its prompt
		// and shifts every special id by one.
		return nil, fmt.Errorf("multilingual models are not supported")
	}
	if gc.NoTimestampsTokenID == nil || gc.EOSTokenID == nil || gc.DecoderStartTokenID == nil {
		return nil, fmt.Errorf("missing no_timestamps_token_id, eos_token_id or decoder_start_token_id")
	}
	// OpenAI's layout puts <|nocaptions|> right before <|notimestamps|> and
	// the timestamps right after it; the config names only the latter.
	nt := *gc.NoTimestampsTokenID
	v := &vocab{
		eot:            *gc.EOSTokenID,
		sot:            *gc.DecoderStartTokenID,
		noSpeech:       nt - 1,
		noTimestamps:   nt,
		timestampBegin: nt + 1,
		size:           nt + 1 + timestampCount,
		suppress:       gc.SuppressTokens,
		beginSuppress:  gc.BeginSuppressTokens,
		maxInitialTS:   -1,
		maxTokens:      textContext,
	}
	if gc.MaxInitialTimestampIndex != nil {
		v.maxInitialTS = *gc.MaxInitialTimestampIndex
	}
	if gc.MaxLength > 0 {
		v.maxTokens = min(gc.MaxLength, textContext)
	}
	if v.eot <= 0 || v.sot <= v.eot || v.noTimestamps <= v.sot {
		return nil, fmt.Errorf("special token ids out of order: eot %d, sot %d, no_timestamps %d", v.eot, v.sot, v.noTimestamps)
	}
	for _, list := range [][]int{v.suppress, v.beginSuppress} {
		for _, id := range list {
			if id < 0 || id >= v.size {
				return nil, fmt.Errorf("suppressed token %d outside the vocabulary of %d", id, v.size)
			}
		}
	}
	return v, nil
}

func (v *vocab) isTimestamp(tok int) bool { return tok >= v.timestampBegin }
