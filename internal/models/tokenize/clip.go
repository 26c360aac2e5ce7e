package tokenize

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// CLIP's text context: start, up to 75 tokens, end.
const clipContextLength = 77

// clipMerges is how many merges of the BPE file CLIP uses:
// simple_tokenizer's lines [1 : 49152-256-2+1].
const clipMerges = 49152 - 256 - 2

const (
	clipStart = "<|startoftext|>"
	clipEnd   = "<|endoftext|>"
)

// ypogegrammeni is U+0345 COMBINING GREEK YPOGEGRAMMENI, see appendEncoding.
const ypogegrammeni = '\u0345'

// clipCacheSize bounds the per-word BPE cache; past it the cache starts
// over, which keeps a long-running server's memory flat while frequent
// words are cached again at once.
const clipCacheSize = 1 << 16

// CLIP is OpenAI CLIP's byte-level BPE tokenizer (simple_tokenizer.py).
type CLIP struct {
	// byteID is the id of each byte's symbol; its word-final form ("</w>")
	// is byteID+256.
	byteID   [256]int32
	merges   map[uint64]bpeMerge
	sot, eot int32

	mu    sync.RWMutex
	cache map[string][]int32

	scratch sync.Pool // *clipScratch
}

type bpeMerge struct{ rank, id int32 }

type clipScratch struct {
	text []byte
	syms []int32
	ids  []int32
}

// LoadCLIP reads CLIP's tokenizer from OpenAI's bpe_simple_vocab_16e6.txt,
// gzipped or not.
func LoadCLIP(path string) (*CLIP, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load clip: %w", err)
	}
	defer f.Close()
	vocab, merges, err := readCLIPBPE(f)
	if err != nil {
		return nil, fmt.Errorf("load clip %s: %w", path, err)
	}
	c, err := newCLIP(vocab, merges)
	if err != nil {
		return nil, fmt.Errorf("load clip %s: %w", path, err)
	}
	return c, nil
}

// readCLIPBPE builds simple_tokenizer's vocabulary (the byte symbols, their
// word-final forms, one token per merge, then the two specials) and merge
// list from the BPE file.
func readCLIPBPE(r io.Reader) (vocab []string, merges [][2]string, err error) {
	br := bufio.NewReader(r)
	var head [2]byte
	if b, err := br.Peek(2); err == nil {
		copy(head[:], b)
	}
	var src io.Reader = br
	if head == [2]byte{0x1f, 0x8b} {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrFormat, err)
		}
		defer zr.Close()
		src = zr
	}

	runes, order := bytesToUnicode()
	vocab = make([]string, 0, 512+clipMerges+2)
	for _, b := range order {
		vocab = append(vocab, string(runes[b]))
	}
	for _, b := range order {
		vocab = append(vocab, string(runes[b])+"</w>")
	}

	sc := bufio.NewScanner(src)
	merges = make([][2]string, 0, clipMerges)
	for line := 0; len(merges) < clipMerges && sc.Scan(); line++ {
		if line == 0 {
			continue // the version header
		}
		a, b, ok := strings.Cut(sc.Text(), " ")
		if !ok || a == "" || b == "" || strings.Contains(b, " ") {
			return nil, nil, fmt.Errorf("%w: merge line %d %q", ErrFormat, line+1, sc.Text())
		}
		merges = append(merges, [2]string{a, b})
		vocab = append(vocab, a+b)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("read bpe: %w", err)
	}
	if len(merges) < clipMerges {
		return nil, nil, fmt.Errorf("%w: %d merges, want %d", ErrFormat, len(merges), clipMerges)
	}
	vocab = append(vocab, clipStart, clipEnd)
	return vocab, merges, nil
}

func newCLIP(vocab []string, merges [][2]string) (*CLIP, error) {
	// Later duplicates win, as in simple_tokenizer's dict(zip(...)).
	ids := make(map[string]int32, len(vocab))
	for i, tok := range vocab {
		ids[tok] = int32(i)
	}
	c := &CLIP{
		merges: make(map[uint64]bpeMerge, len(merges)),
		sot:    ids[clipStart],
		eot:    ids[clipEnd],
		cache:  make(map[string][]int32),
	}
	runes, _ := bytesToUnicode()
	for b := range 256 {
		c.byteID[b] = ids[string(runes[b])]
	}
	for rank, m := range merges {
		left, okL := ids[m[0]]
		right, okR := ids[m[1]]
		if !okL || !okR {
			return nil, fmt.Errorf("%w: merge %q %q of unknown symbols", ErrFormat, m[0], m[1])
		}
		c.merges[pairKey(left, right)] = bpeMerge{rank: int32(rank), id: ids[m[0]+m[1]]}
	}
	return c, nil
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// Encode tokenizes text as CLIP's text encoder expects it:
// <|startoftext|> text <|endoftext|>, truncated to 77 tokens with
// <|endoftext|> kept last. It is not padded.
func (c *CLIP) Encode(text string) []int64 {
	s := c.getScratch()
	defer c.putScratch(s)
	s.ids = c.appendEncoding(s, s.ids[:0], text)
	out := make([]int64, len(s.ids))
	for i, id := range s.ids {
		out[i] = int64(id)
	}
	return out
}

// EncodeBatch encodes each text as Encode does and pads the rows to the
// longest with <|endoftext|>, as the transformers.js CLIP export expects;
// the attention mask marks the real tokens. TypeIDs is nil.
func (c *CLIP) EncodeBatch(texts []string) Batch {
	s := c.getScratch()
	defer c.putScratch(s)
	ids, ends := s.ids[:0], make([]int, len(texts))
	for i, t := range texts {
		ids = c.appendEncoding(s, ids, t)
		ends[i] = len(ids)
	}
	s.ids = ids
	return newBatch(len(texts), ids, ends, int64(c.eot), false)
}

func (c *CLIP) appendEncoding(s *clipScratch, dst []int32, text string) []int32 {
	dst = append(dst, c.sot)
	start := len(dst)
	limit := clipContextLength - 2
	s.text = clipNormalize(s.text[:0], text)
	t := s.text
	for i := 0; i < len(t) && len(dst)-start < limit; {
		r, size := rune(t[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(t[i:])
		}
		// The alternatives of simple_tokenizer's pattern, in its order:
		// <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|
		// [\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
		// After clipNormalize the only whitespace left is ' '. The pattern
		// is compiled with IGNORECASE, under which the regex module matches
		// U+0345 (whose case variants are letters) with no alternative, so
		// it is skipped like a space.
		j := i + size
		switch {
		case r == ' ' || r == ypogegrammeni:
			i = j
			continue
		case r == '<' && hasPrefix(t[i:], clipStart):
			dst = append(dst, c.sot)
			i += len(clipStart)
			continue
		case r == '<' && hasPrefix(t[i:], clipEnd):
			dst = append(dst, c.eot)
			i += len(clipEnd)
			continue
		case r == '\'' && contraction(t[j:]) > 0:
			j += contraction(t[j:])
		case unicode.IsLetter(r):
			for j < len(t) {
				r, size := utf8.DecodeRune(t[j:])
				if !unicode.IsLetter(r) {
					break
				}
				j += size
			}
		case unicode.IsNumber(r):
		default:
			for j < len(t) {
				r, size := utf8.DecodeRune(t[j:])
				if r == ' ' || r == ypogegrammeni || unicode.IsLetter(r) || unicode.IsNumber(r) {
					break
				}
				j += size
			}
		}
		dst = c.appendWord(s, dst, t[i:j])
		i = j
	}
	if len(dst)-start > limit {
		dst = dst[:start+limit]
	}
	return append(dst, c.eot)
}

// contraction is the length of the contraction suffix ('s 't 're 've 'm 'll
// 'd, without the apostrophe) that t starts with, or 0. IGNORECASE makes
// 's match the long s too.
func contraction(t []byte) int {
	if hasPrefix(t, "ſ") {
		return len("ſ")
	}
	if len(t) >= 2 {
		switch string(t[:2]) {
		case "re", "ve", "ll":
			return 2
		}
	}
	if len(t) >= 1 {
		switch t[0] {
		case 's', 't', 'm', 'd':
			return 1
		}
	}
	return 0
}

func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

// appendWord appends the BPE ids of one pre-token.
func (c *CLIP) appendWord(s *clipScratch, dst []int32, word []byte) []int32 {
	c.mu.RLock()
	ids, ok := c.cache[string(word)]
	c.mu.RUnlock()
	if ok {
		return append(dst, ids...)
	}
	s.syms = c.bpe(s.syms[:0], word)
	ids = append([]int32(nil), s.syms...)
	c.mu.Lock()
	if len(c.cache) >= clipCacheSize {
		clear(c.cache)
	}
	c.cache[string(word)] = ids
	c.mu.Unlock()
	return append(dst, ids...)
}

// bpe runs simple_tokenizer's bpe on word's bytes: start from one symbol
// per byte, the last one word-final, and repeatedly merge every occurrence
// of the adjacent pair with the lowest rank.
func (c *CLIP) bpe(syms []int32, word []byte) []int32 {
	for _, b := range word {
		syms = append(syms, c.byteID[b])
	}
	syms[len(syms)-1] += 256
	for len(syms) > 1 {
		best := bpeMerge{rank: math.MaxInt32}
		var left, right int32
		for i := 0; i+1 < len(syms); i++ {
			if m, ok := c.merges[pairKey(syms[i], syms[i+1])]; ok && m.rank < best.rank {
				best, left, right = m, syms[i], syms[i+1]
			}
		}
		if best.rank == math.MaxInt32 {
			break
		}
		out := syms[:0] // in place: writes never overtake reads
		for i := 0; i < len(syms); i++ {
			if i+1 < len(syms) && syms[i] == left && syms[i+1] == right {
				out = append(out, best.id)
				i++
				continue
			}
			out = append(out, syms[i])
		}
		syms = out
	}
	return syms
}

// clipNormalize is simple_tokenizer's text cleaning: the NFC of ftfy,
// HTML unescaping twice, whitespace collapsed and trimmed, then Python's
// lowercase. Invalid UTF-8 becomes U+FFFD, as decoding it into a Python str
// would. The rest of ftfy (mojibake repair, quote uncurling, ligatures,
// width) is not applied, as in Hugging Face's CLIP tokenizer. Go's HTML
// unescaping agrees with Python's except on malformed or exotic references
// (&#x;, references to control or noncharacter code points, &nGt;, &nLt;).
func clipNormalize(dst []byte, text string) []byte {
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	if strings.IndexByte(text, '&') >= 0 {
		text = html.UnescapeString(html.UnescapeString(text))
	}
	text = norm.NFC.String(text) // no copy when text is already NFC
	// Python's strip trims str.isspace characters, which add U+001C–U+001F
	// to the White_Space that the pattern's \s (the regex module's) collapses.
	text = strings.TrimFunc(text, isPySpace)
	space := false
	for i, r := range text {
		if isWhitespace(r) {
			space = true
			continue
		}
		if space {
			dst = append(dst, ' ')
		}
		space = false
		dst = appendPyLower(dst, text, i, r)
	}
	return dst
}

// appendPyLower appends the lowercase of r, the rune at text[i], as
// Python's str.lower has it: the full Unicode mapping, whose only
// multi-rune case is İ, and Σ → ς in final position.
func appendPyLower(dst []byte, text string, i int, r rune) []byte {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(dst, byte(r))
	case r == 'İ':
		return append(dst, "i\u0307"...)
	case r == 'Σ' && finalSigma(text, i):
		return utf8.AppendRune(dst, 'ς')
	}
	return utf8.AppendRune(dst, unicode.ToLower(r))
}

// finalSigma is CPython's Final_Sigma test for the Σ at text[i]:
// \p{Cased} \p{Case_Ignorable}* Σ !(\p{Case_Ignorable}* \p{Cased}).
func finalSigma(text string, i int) bool {
	before := text[:i]
	for {
		r, size := utf8.DecodeLastRuneInString(before)
		if size == 0 || !caseIgnorable(r) {
			if size == 0 || !cased(r) {
				return false
			}
			break
		}
		before = before[:len(before)-size]
	}
	for _, r := range text[i+len("Σ"):] {
		if !caseIgnorable(r) {
			return !cased(r)
		}
	}
	return true
}

// cased is Unicode's Cased property.
func cased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// caseIgnorable is Unicode's Case_Ignorable property: marks, format
// characters, modifiers, and the Word_Break MidLetter, MidNumLet and
// Single_Quote characters, listed here as Go has no Word_Break table.
func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '\u00B7', '\u0387', '\u055F', '\u05F4', '\u2018', '\u2019', '\u2024', '\u2027',
		'\uFE13', '\uFE52', '\uFE55', '\uFF07', '\uFF0E', '\uFF1A':
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// isPySpace is Python's str.isspace: Unicode White_Space plus the
// information separators U+001C–U+001F.
func isPySpace(r rune) bool {
	return isWhitespace(r) || (0x1c <= r && r <= 0x1f)
}

func (c *CLIP) getScratch() *clipScratch {
	if s, ok := c.scratch.Get().(*clipScratch); ok {
		return s
	}
	return new(clipScratch)
}

func (c *CLIP) putScratch(s *clipScratch) {
	if cap(s.text)+4*cap(s.syms)+4*cap(s.ids) > maxPooledBytes {
		return
	}
	c.scratch.Put(s)
}
