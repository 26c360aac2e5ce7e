package whisper

import "math"

var negInf = float32(math.Inf(-1))

// applyRules masks logits (one position, vocabulary wide) for the token
// after sampled, the tokens generated so far in this window. It is
// openai/whisper's SuppressBlank, SuppressTokens and ApplyTimestampRules for
// timestamped English transcription.
func (v *vocab) applyRules(logits []float32, sampled []int) {
	if len(sampled) == 0 {
		for _, t := range v.beginSuppress {
			logits[t] = negInf
		}
	}
	for _, t := range v.suppress {
		logits[t] = negInf
	}
	// Timestamps are on, so their absence cannot be announced.
	logits[v.noTimestamps] = negInf

	// Timestamps come in pairs (a segment's end, the next one's start),
	// except directly before end of text.
	n := len(sampled)
	lastTS := n >= 1 && v.isTimestamp(sampled[n-1])
	penultimateTS := n < 2 || v.isTimestamp(sampled[n-2])
	if lastTS {
		if penultimateTS {
			fill(logits[v.timestampBegin:], negInf)
		} else {
			fill(logits[:v.eot], negInf)
		}
	}

	// Timestamps never go back, and a segment cannot end where it started
	// (which would let the decoder loop on empty segments).
	for i := n - 1; i >= 0; i-- {
		if !v.isTimestamp(sampled[i]) {
			continue
		}
		limit := sampled[i] + 1
		if lastTS && !penultimateTS {
			limit = sampled[i] // the next segment may start where this one ended
		}
		fill(logits[v.timestampBegin:min(limit, len(logits))], negInf)
		break
	}

	if n == 0 {
		// The first token is the first segment's start time, and not late.
		fill(logits[:v.timestampBegin], negInf)
		if v.maxInitialTS >= 0 {
			fill(logits[min(v.timestampBegin+v.maxInitialTS+1, len(logits)):], negInf)
		}
	}

	// When timestamps together are likelier than any single text token, take
	// a timestamp: the mass is spread over neighbouring times, so a
	// per-token argmax would pick text too often. Both sides are log-probs
	// with the same normaliser, which cancels.
	if logSumExp(logits[v.timestampBegin:]) > maxOf(logits[:v.timestampBegin]) {
		fill(logits[:v.timestampBegin], negInf)
	}
}

func fill(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}

// maxOf returns the largest value of s (-Inf if empty). Unlike slices.Max
// it does not look for NaN, which makes it several times faster over a
// vocabulary of logits.
func maxOf(s []float32) float32 {
	m := negInf
	for _, v := range s {
		if v > m {
			m = v
		}
	}
	return m
}

// argmax returns the index of the first largest value.
func argmax(s []float32) int {
	best := 0
	for i, v := range s {
		if v > s[best] {
			best = i
		}
	}
	return best
}

// logSumExp returns log Σ exp(s), -Inf for an empty or all -Inf s.
func logSumExp(s []float32) float32 {
	peak := maxOf(s)
	if math.IsInf(float64(peak), -1) {
		return negInf
	}
	var sum float64
	for _, v := range s {
		sum += math.Exp(float64(v - peak))
	}
	return peak + float32(math.Log(sum))
}

// logProb returns the log-probability of token tok under logits.
func logProb(logits []float32, tok int) float64 {
	return float64(logits[tok] - logSumExp(logits))
}
