package media

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/gif" // DecodeConfig: dimensions before tesseract allocates them
	_ "image/png"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
)

const (
	// MinWordConf is the tesseract confidence (0–100) below which a word is dropped. Clear
	// text scores 85–96; the "words" tesseract finds in textures, foliage and city lights
	// mostly score under 50.
	MinWordConf = 60
	// maxOCRSide bounds an image's side: tesseract's memory grows with the pixel count.
	maxOCRSide = 16384
	ocrTimeout = 2 * time.Minute
	ocrTSVMax  = 16 << 20
)

// Word is one recognised word and its box in image pixels.
type Word struct {
	Text       string
	Conf       float64 // 0–100
	X, Y, W, H int
}

// OCRResult is the text of one image.
type OCRResult struct {
	Text  string // the kept words, lines joined with "\n"
	Words []Word // the kept words, in reading order
}

// OCR recognises English text in the image at imagePath (JPEG, PNG, GIF, TIFF, BMP, WebP or
// PNM) with tesseract's automatic page segmentation. Words under MinWordConf and words
// without a letter or digit are dropped as noise. An image without text gives an empty
// result, not an error.
//
// Errors: ErrNotImage for anything that is not an image file, ErrUnsupported for images
// with a side over 16384 pixels, ErrStalled after two minutes, and ctx's error.
func OCR(ctx context.Context, imagePath string) (OCRResult, error) {
	res, err := ocr(ctx, imagePath)
	if err != nil {
		return OCRResult{}, fmt.Errorf("ocr %s: %w", imagePath, err)
	}
	return res, nil
}

func ocr(ctx context.Context, imagePath string) (OCRResult, error) {
	abs, _, err := openable(imagePath, ErrNotImage)
	if err != nil {
		return OCRResult{}, err
	}
	if err := checkImage(abs); err != nil {
		return OCRResult{}, err
	}
	out := &limitBuffer{max: ocrTSVMax}
	err = job{
		tool: "tesseract",
		// abs starts with "/", so tesseract cannot read it as an option, "-" or "stdin".
		args:   []string{abs, "stdout", "-l", "eng", "--psm", "3", "tsv"},
		env:    []string{"OMP_THREAD_LIMIT=1"}, // OpenMP threads per call slow parallel OCR down
		stdout: out,
	}.runWithin(ctx, ocrTimeout)
	if err != nil {
		return OCRResult{}, err
	}
	return parseTSV(out.Bytes()), nil
}

// checkImage reads the file's magic bytes. tesseract takes any file that is not an image
// as a list of image paths and OCRs those, which must never happen with an upload.
func checkImage(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 16)
	n, err := io.ReadFull(f, head)
	if err != nil && n == 0 {
		return fmt.Errorf("%w: the file is empty", ErrNotImage)
	}
	head = head[:n]
	var decodable bool
	switch {
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")), bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")),
		bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		decodable = true
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")),
		bytes.HasPrefix(head, []byte("BM")),
		len(head) >= 12 && bytes.Equal(head[:4], []byte("RIFF")) && bytes.Equal(head[8:12], []byte("WEBP")),
		len(head) >= 2 && head[0] == 'P' && head[1] >= '1' && head[1] <= '6':
	default:
		return fmt.Errorf("%w: unknown file signature % x", ErrNotImage, head[:min(len(head), 8)])
	}
	if !decodable {
		return nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotImage, err)
	}
	if cfg.Width > maxOCRSide || cfg.Height > maxOCRSide || cfg.Width < 1 || cfg.Height < 1 {
		return fmt.Errorf("%w: the image is %dx%d pixels", ErrUnsupported, cfg.Width, cfg.Height)
	}
	return nil
}

// parseTSV turns tesseract's TSV (level, page_num, block_num, par_num, line_num, word_num,
// left, top, width, height, conf, text; level 5 rows are words) into kept words and lines.
func parseTSV(tsv []byte) OCRResult {
	lines := strings.Split(strings.ReplaceAll(string(tsv), "\r\n", "\n"), "\n")
	if len(lines) == 0 {
		return OCRResult{}
	}
	col := map[string]int{}
	for i, name := range strings.Split(lines[0], "\t") {
		col[strings.TrimSpace(name)] = i
	}
	for _, name := range []string{"level", "page_num", "block_num", "par_num", "line_num", "left", "top", "width", "height", "conf", "text"} {
		if _, ok := col[name]; !ok {
			return OCRResult{}
		}
	}
	var (
		res     OCRResult
		text    []string
		cur     []string
		curLine string
	)
	flush := func() {
		if len(cur) > 0 {
			text = append(text, strings.Join(cur, " "))
		}
		cur = nil
	}
	for _, row := range lines[1:] {
		f := strings.Split(row, "\t")
		if len(f) < len(col) || f[col["level"]] != "5" {
			continue
		}
		word := strings.TrimSpace(f[col["text"]])
		conf, err := strconv.ParseFloat(f[col["conf"]], 64)
		if err != nil || conf < MinWordConf || !strings.ContainsFunc(word, isWordRune) {
			continue
		}
		line := strings.Join([]string{f[col["page_num"]], f[col["block_num"]], f[col["par_num"]], f[col["line_num"]]}, ".")
		if line != curLine {
			flush()
			curLine = line
		}
		num := func(name string) int { n, _ := strconv.Atoi(f[col[name]]); return n }
		res.Words = append(res.Words, Word{Text: word, Conf: conf, X: num("left"), Y: num("top"), W: num("width"), H: num("height")})
		cur = append(cur, word)
	}
	flush()
	res.Text = strings.Join(text, "\n")
	return res
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
