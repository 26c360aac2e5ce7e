package sphinx

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"

	"github.com/vindex/vindex/internal/models"
)

// Where segments break. Pauses longer than a breath end a sentence more
// often than not; the caps keep segments short enough to be useful as
// search hits and subtitles.
const (
	pauseBreak  = 0.6  // seconds of silence between words
	maxSegment  = 12.0 // seconds
	maxSegWords = 20
)

type word struct {
	text       string
	start, end float64
}

// parseWords reads pocketsphinx's -time yes output, where each utterance's
// hypothesis line is followed by one "word start end confidence" line per
// word, and returns the real words in order.
func parseWords(out []byte) []word {
	var words []word
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 {
			continue
		}
		start, err1 := strconv.ParseFloat(f[1], 64)
		end, err2 := strconv.ParseFloat(f[2], 64)
		_, err3 := strconv.ParseFloat(f[3], 64)
		// A hypothesis line of four words fails here: dictionary words are
		// never numbers.
		if err1 != nil || err2 != nil || err3 != nil || end < start {
			continue
		}
		text, ok := cleanWord(f[0])
		if !ok {
			continue
		}
		words = append(words, word{text: text, start: start, end: end})
	}
	return words
}

// cleanWord drops fillers (<s>, </s>, <sil>, [NOISE], ++BREATH++ in older
// models) and strips the alternate-pronunciation mark: "for(2)" is "for".
func cleanWord(w string) (string, bool) {
	if w == "" || strings.ContainsAny(w[:1], "<[+") {
		return "", false
	}
	if i := strings.IndexByte(w, '('); i > 0 && strings.HasSuffix(w, ")") {
		w = w[:i]
	}
	return w, true
}

// group joins words into segments, breaking at pauses and caps. Words come
// in time order and do not overlap, and so do the segments.
func group(words []word) []models.Segment {
	var (
		out   []models.Segment
		cur   []string
		start float64
		end   float64
	)
	flush := func() {
		if len(cur) > 0 {
			out = append(out, models.Segment{Start: start, End: end, Text: strings.Join(cur, " ")})
			cur = cur[:0]
		}
	}
	for _, w := range words {
		if len(cur) > 0 && (w.start-end >= pauseBreak || w.end-start > maxSegment || len(cur) >= maxSegWords) {
			flush()
		}
		if len(cur) == 0 {
			start = w.start
		}
		cur = append(cur, w.text)
		end = w.end
	}
	flush()
	return out
}
