package whisper

// Repetition limits. Whisper's classic failure on silence or music is to
// repeat a phrase until the context is full; real speech rarely says the
// same thing this many times in a row. A loop is at least loopMinRepeats
// back-to-back copies of a block of text tokens, spanning at least
// loopMinTokens tokens (so single words need 20 repeats, a 5-token phrase 4).
const (
	loopMinRepeats = 4
	loopMinTokens  = 20
)

// cutLoop reports whether the text tokens of sampled end in a loop and, if
// so, returns sampled cut after the first copy of the repeated block (and
// the timestamp right after it, which closes that copy's segment).
// Timestamps are ignored while matching: a looping decoder usually moves
// them on with every copy.
func (v *vocab) cutLoop(sampled []int) ([]int, bool) {
	var text, at []int // text tokens and their indexes in sampled
	for i, t := range sampled {
		if t < v.eot {
			text = append(text, t)
			at = append(at, i)
		}
	}
	n := len(text)
	for p := 1; p*loopMinRepeats <= n; p++ {
		// run counts trailing tokens equal to the token p before them.
		run := 0
		for run < n-p && text[n-1-run] == text[n-1-run-p] {
			run++
		}
		copies := (run + p) / p
		if copies < loopMinRepeats || copies*p < loopMinTokens {
			continue
		}
		keep := at[n-(copies-1)*p-1] + 1
		if keep < len(sampled) && v.isTimestamp(sampled[keep]) {
			keep++
		}
		return sampled[:keep], true
	}
	return sampled, false
}

// span is a timed run of a window's tokens, times relative to the window.
type span struct {
	start, end float64 // seconds
	tokens     []int
}

// split turns one window's sampled tokens into segments and returns how
// many mel frames the next window starts after this one, following
// openai/whisper's transcribe: a pair of adjacent timestamps closes one
// segment and opens the next; an unfinished last segment is dropped and
// decoded again from its start in the next window, unless the window ends
// with a lone timestamp (nothing more was said) or has no timestamp pair at
// all, in which case the whole window is consumed. frames is the number of
// mel frames of real audio in the window.
func (v *vocab) split(tokens []int, frames int) ([]span, int) {
	ts := func(i int) bool { return v.isTimestamp(tokens[i]) }
	n := len(tokens)
	singleEnding := n >= 2 && !ts(n-2) && ts(n-1)

	var cuts []int
	for i := 1; i < n; i++ {
		if ts(i-1) && ts(i) {
			cuts = append(cuts, i)
		}
	}
	if len(cuts) == 0 {
		end := float64(frames) * hopLength / SampleRate
		for i := n - 1; i >= 0; i-- {
			if ts(i) {
				if tokens[i] != v.timestampBegin {
					end = v.seconds(tokens[i])
				}
				break
			}
		}
		return []span{{start: 0, end: end, tokens: tokens}}, frames
	}

	if singleEnding {
		cuts = append(cuts, n)
	}
	spans := make([]span, 0, len(cuts))
	last := 0
	for _, c := range cuts {
		s := tokens[last:c]
		spans = append(spans, span{start: v.seconds(s[0]), end: v.seconds(s[len(s)-1]), tokens: s})
		last = c
	}
	if singleEnding {
		return spans, frames
	}
	advance := (tokens[last-1] - v.timestampBegin) * framesPerStep
	if advance <= 0 {
		advance = frames // cannot happen under the timestamp rules; never stall
	}
	return spans, advance
}

// seconds converts a timestamp token to seconds from the window start.
func (v *vocab) seconds(tok int) float64 {
	return float64(tok-v.timestampBegin) * timePrecision
}
