package tokenize

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// WhisperTokens is Whisper's table of byte tokens (the GPT-2 ranks, as in
// tiny.en-tokens.txt), used to turn decoder output into text. Ids at and
// past Len are Whisper's special tokens (end of text, task, timestamps),
// which carry no text.
type WhisperTokens struct {
	data []byte   // every token's bytes, back to back
	ends []uint32 // token i is data[ends[i-1]:ends[i]]
}

// LoadWhisperTokens reads a tokens file of "BASE64 ID" lines whose ids run
// 0, 1, 2, … in order.
func LoadWhisperTokens(path string) (*WhisperTokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load whisper tokens: %w", err)
	}
	defer f.Close()

	w := &WhisperTokens{ends: make([]uint32, 0, 50256), data: make([]byte, 0, 400<<10)}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		b64, idText, ok := bytes.Cut(sc.Bytes(), []byte(" "))
		id, err := strconv.Atoi(string(idText))
		if !ok || err != nil || id != len(w.ends) {
			return nil, fmt.Errorf("load whisper tokens %s: %w: line %d: want \"BASE64 %d\"", path, ErrFormat, line, len(w.ends))
		}
		w.data, err = base64.StdEncoding.AppendDecode(w.data, b64)
		if err != nil {
			return nil, fmt.Errorf("load whisper tokens %s: %w: line %d: %w", path, ErrFormat, line, err)
		}
		w.ends = append(w.ends, uint32(len(w.data)))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("load whisper tokens %s: %w", path, err)
	}
	if len(w.ends) == 0 {
		return nil, fmt.Errorf("load whisper tokens %s: %w: no tokens", path, ErrFormat)
	}
	return w, nil
}

// Len is the number of byte tokens; it is also the id of the first special
// token, <|endoftext|>.
func (w *WhisperTokens) Len() int { return len(w.ends) }

// Bytes returns a copy of token id's bytes, or nil for a special or
// unknown id.
func (w *WhisperTokens) Bytes(id int) []byte {
	if id < 0 || id >= len(w.ends) {
		return nil
	}
	return bytes.Clone(w.token(id))
}

func (w *WhisperTokens) token(id int) []byte {
	start := uint32(0)
	if id > 0 {
		start = w.ends[id-1]
	}
	return w.data[start:w.ends[id]]
}

// Decode concatenates the bytes of ids, skipping special ids, and returns
// them as UTF-8. A character whose bytes are split across tokens is only
// whole once all of them are present, so an incomplete one at the end (a
// partial decode) is left out rather than turned into U+FFFD; invalid bytes
// elsewhere become U+FFFD.
func (w *WhisperTokens) Decode(ids []int) string {
	n := 0
	for _, id := range ids {
		if id >= 0 && id < len(w.ends) {
			n += len(w.token(id))
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, id := range ids {
		if id >= 0 && id < len(w.ends) {
			b.Write(w.token(id))
		}
	}
	s := b.String()
	s = s[:len(s)-incompleteTail(s)]
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// incompleteTail is the length of the UTF-8 sequence s ends with if that
// sequence has started but is not finished, else 0.
func incompleteTail(s string) int {
	for n := 1; n <= min(len(s), utf8.UTFMax-1); n++ {
		c := s[len(s)-n]
		if utf8.RuneStart(c) {
			if c >= 0xC0 && !utf8.FullRuneInString(s[len(s)-n:]) {
				return n
			}
			return 0
		}
	}
	return 0
}
