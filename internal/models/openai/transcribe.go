package openai

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"os"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/vindex/vindex/internal/models"
	"github.com/vindex/vindex/internal/models/openai/internal/wav"
)

const (
	// uploadLimit is OpenAI's cap on a transcription request body
	// (26214400 bytes, documented as 25 MB). Longer audio is split.
	uploadLimit = 25 << 20
	// envelope is room left under uploadLimit for the multipart fields and
	// boundaries around the audio.
	envelope = 16 << 10
	// chunkSeconds is the most audio one upload carries once a file has to
	// be split: ten minutes of 16 kHz mono s16 are 19.2 MB.
	chunkSeconds = 600
	// parallelUploads bounds the chunks of one file in flight at once.
	parallelUploads = 3
)

// piece is a span of a WAV file's samples sent as one upload.
type piece struct {
	off, size int64   // bytes, relative to the start of the samples
	start     float64 // seconds from the start of the audio
}

// Transcribe sends the 16-bit PCM WAV at wavPath to
// {base}/audio/transcriptions and returns its timed segments. Audio too big
// for one upload is cut into equal chunks of at most ten minutes (a word
// spanning a cut may be lost or split) and the chunks' times are shifted
// back into place. Servers that answer with text but no segments get one
// segment spanning the audio. A file that is not PCM WAV fails with
// ErrRequest.
func (c *Client) Transcribe(ctx context.Context, wavPath, model string) ([]models.Segment, error) {
	if model == "" {
		return nil, fmt.Errorf("transcribe: %w: no model given", ErrRequest)
	}
	h, dataSize, err := readHeader(wavPath)
	if errors.Is(err, wav.ErrFormat) {
		return nil, fmt.Errorf("transcribe: %w: %w", ErrRequest, err)
	}
	if err != nil {
		return nil, fmt.Errorf("transcribe: %w", err)
	}
	pieces := split(h, dataSize)
	results := make([][]models.Segment, len(pieces))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelUploads)
	for i, p := range pieces {
		g.Go(func() error {
			segs, err := c.transcribePiece(gctx, wavPath, model, h, p)
			if err != nil {
				if len(pieces) > 1 {
					return fmt.Errorf("transcribe %s chunk %d of %d: %w", wavPath, i+1, len(pieces), err)
				}
				return fmt.Errorf("transcribe %s: %w", wavPath, err)
			}
			results[i] = segs
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []models.Segment
	for _, r := range results {
		out = append(out, r...)
	}
	return out, nil
}

// readHeader returns the file's format and how many bytes of whole frames
// it really holds, whatever its header claims.
func readHeader(path string) (wav.Header, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return wav.Header{}, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return wav.Header{}, 0, err
	}
	h, err := wav.Parse(bufio.NewReader(f))
	if err != nil {
		return wav.Header{}, 0, fmt.Errorf("%s: %w", path, err)
	}
	size := st.Size() - h.DataOffset
	if h.DataSize > 0 && h.DataSize < size {
		size = h.DataSize
	}
	return h, size - size%int64(h.BlockAlign()), nil
}

// split cuts the samples into uploads that fit uploadLimit, of equal
// length so that no chunk is a sliver the API would refuse as too short.
func split(h wav.Header, size int64) []piece {
	if size == 0 {
		return nil
	}
	if wav.HeaderSize+size+envelope <= uploadLimit {
		return []piece{{size: size}}
	}
	block := int64(h.BlockAlign())
	frames := size / block
	maxFrames := min(int64(chunkSeconds*h.SampleRate), (uploadLimit-wav.HeaderSize-envelope)/block)
	n := (frames + maxFrames - 1) / maxFrames
	step := (frames + n - 1) / n * block
	var out []piece
	for off := int64(0); off < size; off += step {
		out = append(out, piece{off: off, size: min(step, size-off), start: h.Seconds(off)})
	}
	return out
}

type transcription struct {
	Text     string  `json:"text"`
	Duration float64 `json:"duration"`
	Segments []struct {
		Start float64 `json:"start"`
		End   float64 `json:"end"`
		Text  string  `json:"text"`
	} `json:"segments"`
}

func (c *Client) transcribePiece(ctx context.Context, path, model string, h wav.Header, p piece) ([]models.Segment, error) {
	prefix, trailer, ctype, err := uploadForm(model)
	if err != nil {
		return nil, err
	}
	header := h.Encode(p.size)
	size := int64(len(prefix)+len(header)+len(trailer)) + p.size
	cl := call{path: "/audio/transcriptions", timeout: c.transcribeTimeout,
		body: func() (io.ReadCloser, int64, string, error) {
			f, err := os.Open(path)
			if err != nil {
				return nil, 0, "", err
			}
			// The samples stream from disk: a chunk is never held in memory.
			r := io.MultiReader(bytes.NewReader(prefix), bytes.NewReader(header),
				io.NewSectionReader(f, h.DataOffset+p.off, p.size), bytes.NewReader(trailer))
			return readCloser{r, f}, size, ctype, nil
		}}
	var resp transcription
	if err := c.do(ctx, cl, &resp); err != nil {
		return nil, err
	}
	var out []models.Segment
	for _, s := range resp.Segments {
		text := strings.TrimSpace(s.Text)
		if text == "" {
			continue
		}
		out = append(out, models.Segment{Start: p.start + s.Start, End: p.start + max(s.End, s.Start), Text: text})
	}
	if text := strings.TrimSpace(resp.Text); len(resp.Segments) == 0 && text != "" {
		d := resp.Duration
		if d <= 0 {
			d = h.Seconds(p.size)
		}
		out = append(out, models.Segment{Start: p.start, End: p.start + d, Text: text})
	}
	return out, nil
}

// uploadForm renders the multipart form around the audio: the fields and
// the file part's header before it, the closing boundary after it. Knowing
// both up front gives the request a Content-Length, which some gateways
// insist on for uploads, while the audio itself still streams.
func uploadForm(model string) (prefix, trailer []byte, contentType string, err error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range [][2]string{
		{"model", model},
		{"response_format", "verbose_json"},
		{"timestamp_granularities[]", "segment"},
	} {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return nil, nil, "", fmt.Errorf("build form: %w", err)
		}
	}
	part := textproto.MIMEHeader{}
	part.Set("Content-Disposition", `form-data; name="file"; filename="audio.wav"`)
	part.Set("Content-Type", "audio/wav")
	if _, err := mw.CreatePart(part); err != nil {
		return nil, nil, "", fmt.Errorf("build form: %w", err)
	}
	prefix = bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := mw.Close(); err != nil {
		return nil, nil, "", fmt.Errorf("build form: %w", err)
	}
	return prefix, buf.Bytes(), mw.FormDataContentType(), nil
}

type readCloser struct {
	io.Reader
	io.Closer
}
