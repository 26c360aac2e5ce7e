package whispertest

import (
	"fmt"
	"math"
	"strings"

	"github.com/vindex/vindex/internal/models"
	"github.com/vindex/vindex/internal/models/tokenize"
)

// Whisper's timing, as tiny.en's generation config sets it.
const (
	timePrecision = 0.02 // seconds per timestamp step
	windowSteps   = 1500 // timestamp steps in a 30 s window
	// maxInitialStep is the latest a window's first timestamp may be
	// (max_initial_timestamp_index): 1 s.
	maxInitialStep = 50
)

// Timestamp returns the timestamp token for sec seconds from the start of a
// window, rounded to Whisper's 0.02 s steps.
func Timestamp(sec float64) int { return TimestampBegin + int(math.Round(sec/timePrecision)) }

// Script returns Spec.Tokens that make the decoder say segs in every window:
// per segment its start timestamp, its text and its end timestamp, then
// end of text. Times are seconds from the window's start, rounded to 0.02
// s; the text is tokenized by greedy longest match over the tokens table
// at tokensPath (not Whisper's own merges, which the transcript does not
// depend on).
//
// whisper then transcribes audio of up to 30 s as segs, with the text
// trimmed and ends clipped to the audio; longer audio repeats them every
// 30 s. Script rejects what Whisper's decoding rules would rewrite: blank
// text, empty or overlapping segments, times past 30 s, a first segment
// starting after 1 s, more tokens than the decoder has positions. Whisper
// also suppresses most symbol tokens (quotes, brackets, " -") and cuts a
// phrase repeated four times or more, so the text should read like speech.
func Script(tokensPath string, segs ...models.Segment) ([]int, error) {
	table, err := tokenize.LoadWhisperTokens(tokensPath)
	if err != nil {
		return nil, fmt.Errorf("script: %w", err)
	}
	enc := newTextEncoder(table)
	var out []int
	prevEnd := 0
	for i, s := range segs {
		start, end := steps(s.Start), steps(s.End)
		switch {
		case strings.TrimSpace(s.Text) == "":
			return nil, fmt.Errorf("script: segment %d: blank text", i)
		case start < prevEnd:
			return nil, fmt.Errorf("script: segment %d: starts at %gs, before the previous end or the window", i, s.Start)
		case end <= start:
			return nil, fmt.Errorf("script: segment %d: ends at %gs, not after its start at %gs", i, s.End, s.Start)
		case end > windowSteps:
			return nil, fmt.Errorf("script: segment %d: ends at %gs, past the 30 s window", i, s.End)
		case i == 0 && start > maxInitialStep:
			return nil, fmt.Errorf("script: segment 0: starts at %gs, but a window's first timestamp is at most 1 s", s.Start)
		}
		ids, err := enc.encode(s.Text)
		if err != nil {
			return nil, fmt.Errorf("script: segment %d: %w", i, err)
		}
		out = append(out, TimestampBegin+start)
		out = append(out, ids...)
		out = append(out, TimestampBegin+end)
		prevEnd = end
	}
	out = append(out, EndOfText)
	// The prompt takes one decoder position.
	if len(out) > textContext-1 {
		return nil, fmt.Errorf("script: %d tokens, more than the decoder's %d positions after the prompt", len(out), textContext-1)
	}
	return out, nil
}

func steps(sec float64) int { return int(math.Round(sec / timePrecision)) }

// textEncoder tokenizes by greedy longest match over a tokens table.
type textEncoder struct {
	table  *tokenize.WhisperTokens
	ids    map[string]int // token bytes → lowest id with them
	maxLen int
}

func newTextEncoder(table *tokenize.WhisperTokens) *textEncoder {
	e := &textEncoder{table: table, ids: make(map[string]int, table.Len())}
	for id := range table.Len() {
		b := string(table.Bytes(id))
		if _, dup := e.ids[b]; !dup {
			e.ids[b] = id
		}
		e.maxLen = max(e.maxLen, len(b))
	}
	return e
}

func (e *textEncoder) encode(text string) ([]int, error) {
	var ids []int
	for rest := text; rest != ""; {
		n := min(e.maxLen, len(rest))
		for ; n > 0; n-- {
			if id, ok := e.ids[rest[:n]]; ok {
				ids = append(ids, id)
				break
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("no token for byte %#x in %q", rest[0], text)
		}
		rest = rest[n:]
	}
	// Decode replaces invalid UTF-8, so only valid text comes back as is.
	if got := e.table.Decode(ids); got != text {
		return nil, fmt.Errorf("text %q decodes as %q", text, got)
	}
	return ids, nil
}
