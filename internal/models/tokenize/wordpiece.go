package tokenize

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// WordPiece is a BERT tokenizer as Hugging Face's tokenizers library runs it
// from a tokenizer.json: BertNormalizer, BertPreTokenizer, the WordPiece model
// and a TemplateProcessing post-processor.
type WordPiece struct {
	// Word-initial pieces, and continuation pieces keyed without their
	// prefix, so a lookup never builds a string.
	initial, cont       map[string]int32
	maxInitial, maxCont int // longest piece in bytes: where the greedy search starts
	tokens              []string
	unk, pad            int32
	maxWordChars        int

	// Special tokens around the text, and the text's own type id.
	prefix, suffix []special
	seqType        int64

	// Added tokens are matched in the raw text before normalisation, as the
	// reference does, so "[MASK]" in a query is the mask token. Sorted
	// longest first for leftmost-longest matching.
	added     []addedToken
	addedLead [256]bool

	clean, chinese, strip, lower bool

	scratch sync.Pool // *wpScratch
}

type special struct {
	id     int32
	typeID int64
}

type addedToken struct {
	content string
	id      int32
}

type wpScratch struct {
	clean, nfd, word []byte
	ids              []int32
}

// tokenizerJSON is the part of a Hugging Face tokenizer.json that a BERT
// WordPiece tokenizer uses.
type tokenizerJSON struct {
	AddedTokens []struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		Lstrip     bool   `json:"lstrip"`
		Rstrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
	} `json:"added_tokens"`
	Normalizer *struct {
		Type               string `json:"type"`
		CleanText          bool   `json:"clean_text"`
		HandleChineseChars bool   `json:"handle_chinese_chars"`
		StripAccents       *bool  `json:"strip_accents"`
		Lowercase          bool   `json:"lowercase"`
	} `json:"normalizer"`
	PreTokenizer *struct {
		Type string `json:"type"`
	} `json:"pre_tokenizer"`
	PostProcessor *struct {
		Type          string         `json:"type"`
		Single        []templateItem `json:"single"`
		SpecialTokens map[string]struct {
			IDs []int `json:"ids"`
		} `json:"special_tokens"`
	} `json:"post_processor"`
	Padding *struct {
		PadID int `json:"pad_id"`
	} `json:"padding"`
	Model struct {
		Type                    string         `json:"type"`
		UnkToken                string         `json:"unk_token"`
		ContinuingSubwordPrefix string         `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    int            `json:"max_input_chars_per_word"`
		Vocab                   map[string]int `json:"vocab"`
	} `json:"model"`
}

type templateItem struct {
	SpecialToken *struct {
		ID     string `json:"id"`
		TypeID int64  `json:"type_id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID     string `json:"id"`
		TypeID int64  `json:"type_id"`
	} `json:"Sequence"`
}

// LoadWordPiece reads a WordPiece tokenizer from a Hugging Face
// tokenizer.json. Components other than BERT's are ErrUnsupported.
func LoadWordPiece(path string) (*WordPiece, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load wordpiece: %w", err)
	}
	var tj tokenizerJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, fmt.Errorf("load wordpiece: %w: %w", ErrFormat, err)
	}
	w, err := newWordPiece(&tj)
	if err != nil {
		return nil, fmt.Errorf("load wordpiece %s: %w", path, err)
	}
	return w, nil
}

func newWordPiece(tj *tokenizerJSON) (*WordPiece, error) {
	m := &tj.Model
	if m.Type != "WordPiece" {
		return nil, fmt.Errorf("%w: model %q", ErrUnsupported, m.Type)
	}
	if len(m.Vocab) == 0 {
		return nil, fmt.Errorf("%w: empty vocabulary", ErrFormat)
	}
	w := &WordPiece{
		initial:      make(map[string]int32, len(m.Vocab)),
		cont:         make(map[string]int32),
		tokens:       make([]string, len(m.Vocab)),
		maxWordChars: m.MaxInputCharsPerWord,
	}
	for tok, id := range m.Vocab {
		if id < 0 || id >= len(m.Vocab) || w.tokens[id] != "" {
			return nil, fmt.Errorf("%w: vocabulary ids are not 0..%d", ErrFormat, len(m.Vocab)-1)
		}
		w.tokens[id] = tok
		w.initial[tok] = int32(id)
		w.maxInitial = max(w.maxInitial, len(tok))
		if rest, ok := strings.CutPrefix(tok, m.ContinuingSubwordPrefix); ok && m.ContinuingSubwordPrefix != "" {
			w.cont[rest] = int32(id)
			w.maxCont = max(w.maxCont, len(rest))
		}
	}
	if w.maxWordChars <= 0 {
		return nil, fmt.Errorf("%w: max_input_chars_per_word %d", ErrFormat, w.maxWordChars)
	}
	unk, ok := w.initial[m.UnkToken]
	if !ok {
		return nil, fmt.Errorf("%w: unk token %q not in vocabulary", ErrFormat, m.UnkToken)
	}
	w.unk = unk

	if err := w.setNormalizer(tj); err != nil {
		return nil, err
	}
	if tj.PreTokenizer == nil || tj.PreTokenizer.Type != "BertPreTokenizer" {
		return nil, fmt.Errorf("%w: pre-tokenizer must be BertPreTokenizer", ErrUnsupported)
	}
	if err := w.setTemplate(tj); err != nil {
		return nil, err
	}
	if err := w.setAdded(tj); err != nil {
		return nil, err
	}
	switch {
	case tj.Padding != nil:
		if !w.inVocab(tj.Padding.PadID) {
			return nil, fmt.Errorf("%w: pad id %d outside the vocabulary", ErrFormat, tj.Padding.PadID)
		}
		w.pad = int32(tj.Padding.PadID)
	default:
		pad, ok := w.initial["[PAD]"]
		if !ok {
			return nil, fmt.Errorf("%w: no padding section and no [PAD] token", ErrFormat)
		}
		w.pad = pad
	}
	return w, nil
}

func (w *WordPiece) inVocab(id int) bool { return id >= 0 && id < len(w.tokens) }

func (w *WordPiece) setNormalizer(tj *tokenizerJSON) error {
	n := tj.Normalizer
	if n == nil || n.Type != "BertNormalizer" {
		return fmt.Errorf("%w: normalizer must be BertNormalizer", ErrUnsupported)
	}
	w.clean, w.chinese, w.lower = n.CleanText, n.HandleChineseChars, n.Lowercase
	// BERT's convention: unset strip_accents follows lowercase.
	w.strip = n.Lowercase
	if n.StripAccents != nil {
		w.strip = *n.StripAccents
	}
	return nil
}

// setTemplate reads the single-sequence template: special tokens, then
// $A, then special tokens.
func (w *WordPiece) setTemplate(tj *tokenizerJSON) error {
	pp := tj.PostProcessor
	if pp == nil || pp.Type != "TemplateProcessing" {
		return fmt.Errorf("%w: post-processor must be TemplateProcessing", ErrUnsupported)
	}
	seen := false
	for _, it := range pp.Single {
		switch {
		case it.Sequence != nil:
			if seen || it.Sequence.ID != "A" {
				return fmt.Errorf("%w: single template must hold $A once", ErrFormat)
			}
			seen = true
			w.seqType = it.Sequence.TypeID
		case it.SpecialToken != nil:
			st, ok := pp.SpecialTokens[it.SpecialToken.ID]
			if !ok || len(st.IDs) != 1 {
				return fmt.Errorf("%w: template token %q has no single id", ErrFormat, it.SpecialToken.ID)
			}
			if !w.inVocab(st.IDs[0]) {
				return fmt.Errorf("%w: template token %q id %d outside the vocabulary", ErrFormat, it.SpecialToken.ID, st.IDs[0])
			}
			sp := special{id: int32(st.IDs[0]), typeID: it.SpecialToken.TypeID}
			if seen {
				w.suffix = append(w.suffix, sp)
			} else {
				w.prefix = append(w.prefix, sp)
			}
		default:
			return fmt.Errorf("%w: empty template item", ErrFormat)
		}
	}
	if !seen {
		return fmt.Errorf("%w: single template lacks $A", ErrFormat)
	}
	return nil
}

func (w *WordPiece) setAdded(tj *tokenizerJSON) error {
	for _, at := range tj.AddedTokens {
		if at.Normalized || at.SingleWord || at.Lstrip || at.Rstrip {
			return fmt.Errorf("%w: added token %q options", ErrUnsupported, at.Content)
		}
		if at.Content == "" || !w.inVocab(at.ID) {
			return fmt.Errorf("%w: added token %q id %d", ErrFormat, at.Content, at.ID)
		}
		w.added = append(w.added, addedToken{content: at.Content, id: int32(at.ID)})
		w.addedLead[at.Content[0]] = true
	}
	sort.SliceStable(w.added, func(i, j int) bool { return len(w.added[i].content) > len(w.added[j].content) })
	return nil
}

// Encode tokenizes text as [CLS] text [SEP]. A maxLen above zero truncates
// the text so the whole encoding, special tokens included, fits in maxLen;
// the special tokens always stay.
func (w *WordPiece) Encode(text string, maxLen int) Encoding {
	s := w.getScratch()
	defer w.putScratch(s)
	s.ids = w.appendEncoding(s, s.ids[:0], text, maxLen)
	n := len(s.ids)
	buf := make([]int64, 3*n)
	e := Encoding{IDs: buf[:n:n], AttentionMask: buf[n : 2*n : 2*n], TypeIDs: buf[2*n:]}
	for i, id := range s.ids {
		e.IDs[i] = int64(id)
		e.AttentionMask[i] = 1
		e.TypeIDs[i] = w.typeID(i, n)
	}
	return e
}

// EncodeBatch encodes each text as Encode does and pads the rows with the
// pad token (attention mask 0) to the longest row of the batch.
func (w *WordPiece) EncodeBatch(texts []string, maxLen int) Batch {
	s := w.getScratch()
	defer w.putScratch(s)
	ids, ends := s.ids[:0], make([]int, len(texts))
	for i, t := range texts {
		ids = w.appendEncoding(s, ids, t, maxLen)
		ends[i] = len(ids)
	}
	s.ids = ids
	b := newBatch(len(texts), ids, ends, int64(w.pad), true)
	for r := range b.Size {
		start := 0
		if r > 0 {
			start = ends[r-1]
		}
		n, row := ends[r]-start, b.TypeIDs[r*b.SeqLen:(r+1)*b.SeqLen]
		for i := range n {
			row[i] = w.typeID(i, n)
		}
	}
	return b
}

// Tokens returns the token strings of text's untruncated encoding, for
// debugging and tests.
func (w *WordPiece) Tokens(text string) []string {
	s := w.getScratch()
	defer w.putScratch(s)
	s.ids = w.appendEncoding(s, s.ids[:0], text, 0)
	out := make([]string, len(s.ids))
	for i, id := range s.ids {
		out[i] = w.tokens[id]
	}
	return out
}

// typeID is the segment id at position i of an n-token encoding.
func (w *WordPiece) typeID(i, n int) int64 {
	switch {
	case i < len(w.prefix):
		return w.prefix[i].typeID
	case i >= n-len(w.suffix):
		return w.suffix[i-(n-len(w.suffix))].typeID
	default:
		return w.seqType
	}
}

// appendEncoding appends text's ids, with the template's special tokens, to
// dst.
func (w *WordPiece) appendEncoding(s *wpScratch, dst []int32, text string, maxLen int) []int32 {
	for _, sp := range w.prefix {
		dst = append(dst, sp.id)
	}
	limit := -1
	if maxLen > 0 {
		limit = max(0, maxLen-len(w.prefix)-len(w.suffix))
	}
	start := len(dst)
	dst = w.appendText(s, dst, start, limit, text)
	if limit >= 0 && len(dst)-start > limit {
		dst = dst[:start+limit]
	}
	for _, sp := range w.suffix {
		dst = append(dst, sp.id)
	}
	return dst
}

// appendText splits text around added tokens and tokenizes the pieces
// between them. It stops early once the text holds limit tokens (the
// caller trims the excess); limit < 0 means no limit.
func (w *WordPiece) appendText(s *wpScratch, dst []int32, start, limit int, text string) []int32 {
	full := func() bool { return limit >= 0 && len(dst)-start >= limit }
	plain := 0
	for i := 0; i < len(text) && len(w.added) > 0; i++ {
		if !w.addedLead[text[i]] {
			continue
		}
		for _, at := range w.added {
			if strings.HasPrefix(text[i:], at.content) {
				dst = w.appendPlain(s, dst, start, limit, text[plain:i])
				if full() {
					return dst
				}
				dst = append(dst, at.id)
				i += len(at.content) - 1
				plain = i + 1
				break
			}
		}
		if full() {
			return dst
		}
	}
	return w.appendPlain(s, dst, start, limit, text[plain:])
}

// appendPlain normalises text and appends the WordPiece ids of each of its
// words.
func (w *WordPiece) appendPlain(s *wpScratch, dst []int32, start, limit int, text string) []int32 {
	if text == "" {
		return dst
	}
	s.clean = w.cleanText(s.clean[:0], text)
	src := s.clean
	if w.strip && !isASCII(src) {
		s.nfd = norm.NFD.Append(s.nfd[:0], src...)
		src = s.nfd
	}

	word, chars := s.word[:0], 0
	flush := func() {
		if len(word) > 0 {
			dst = w.appendWord(dst, word, chars)
			word, chars = word[:0], 0
		}
	}
	for i := 0; i < len(src); {
		r, size := rune(src[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(src[i:])
		}
		i += size
		if r >= utf8.RuneSelf && w.strip && unicode.Is(unicode.Mn, r) {
			continue
		}
		switch {
		case isWhitespace(r):
			flush()
		case isBertPunct(r):
			flush()
			dst = w.appendWord(dst, utf8.AppendRune(word, r), 1)
		default:
			if w.lower && r == 'İ' && !w.strip {
				// The one rune whose full lowercase is two runes.
				word = append(word, "i\u0307"...)
				chars += 2
				continue
			}
			word = utf8.AppendRune(word, w.lowerRune(r))
			chars++
		}
		if limit >= 0 && len(dst)-start >= limit {
			break
		}
	}
	flush()
	s.word = word
	return dst
}

func (w *WordPiece) lowerRune(r rune) rune {
	if !w.lower {
		return r
	}
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	return unicode.ToLower(r)
}

// cleanText applies BertNormalizer's clean_text and handle_chinese_chars.
// Invalid UTF-8 decodes to U+FFFD, which clean_text drops.
func (w *WordPiece) cleanText(dst []byte, text string) []byte {
	for _, r := range text {
		if w.clean {
			if r == 0 || r == utf8.RuneError || isControl(r) {
				continue
			}
			if isWhitespace(r) {
				dst = append(dst, ' ')
				continue
			}
		}
		if w.chinese && isCJK(r) {
			dst = append(dst, ' ')
			dst = utf8.AppendRune(dst, r)
			dst = append(dst, ' ')
			continue
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// appendWord appends the greedy longest-match-first WordPiece split of
// word, or the unknown token when the word is too long or some part of it
// matches no piece.
func (w *WordPiece) appendWord(dst []int32, word []byte, chars int) []int32 {
	if chars > w.maxWordChars {
		return append(dst, w.unk)
	}
	first := len(dst)
	for pos := 0; pos < len(word); {
		vocab, longest := w.initial, w.maxInitial
		if pos > 0 {
			vocab, longest = w.cont, w.maxCont
		}
		end, found := min(len(word), pos+longest), false
		for ; end > pos; end-- {
			if end < len(word) && !utf8.RuneStart(word[end]) {
				continue
			}
			if id, ok := vocab[string(word[pos:end])]; ok {
				dst = append(dst, id)
				found = true
				break
			}
		}
		if !found {
			return append(dst[:first], w.unk)
		}
		pos = end
	}
	return dst
}

func (w *WordPiece) getScratch() *wpScratch {
	if s, ok := w.scratch.Get().(*wpScratch); ok {
		return s
	}
	return new(wpScratch)
}

func (w *WordPiece) putScratch(s *wpScratch) {
	if cap(s.clean)+cap(s.nfd)+cap(s.word)+4*cap(s.ids) > maxPooledBytes {
		return
	}
	w.scratch.Put(s)
}

// isWhitespace is Unicode White_Space, which Go's IsSpace and Rust's
// char::is_whitespace (the reference) both implement.
func isWhitespace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || ('\t' <= r && r <= '\r')
	}
	return unicode.IsSpace(r)
}

// isControl is what clean_text drops. The reference removes Cc, Cf and Co
// but keeps unassigned code points; tab, newline and carriage return are
// whitespace instead.
func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co)
}

// isBertPunct is BERT's punctuation: all ASCII non-alphanumeric printable
// characters (including symbols such as $ and ^) and Unicode category P.
func isBertPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return (33 <= r && r <= 47) || (58 <= r && r <= 64) || (91 <= r && r <= 96) || (123 <= r && r <= 126)
	}
	return unicode.IsPunct(r)
}

// isCJK reports the CJK ideograph blocks BERT spaces out, with the exact
// bounds of the reference implementation (which skips U+2B820–U+2B91F).
func isCJK(r rune) bool {
	switch {
	case r < 0x3400:
		return false
	case r <= 0x4DBF:
		return true
	case 0x4E00 <= r && r <= 0x9FFF, 0xF900 <= r && r <= 0xFAFF:
		return true
	case 0x20000 <= r && r <= 0x2A6DF, 0x2A700 <= r && r <= 0x2B81F,
		0x2B920 <= r && r <= 0x2CEAF, 0x2F800 <= r && r <= 0x2FA1F:
		return true
	}
	return false
}
