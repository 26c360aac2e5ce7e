package openaitest

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/vindex/vindex/internal/models"
	"github.com/vindex/vindex/internal/models/openai/internal/wav"
)

// uploadLimit is the real API's cap on a transcription request.
const uploadLimit = 25 << 20

type verboseTranscription struct {
	Task     string    `json:"task"`
	Language string    `json:"language"`
	Duration float64   `json:"duration"`
	Text     string    `json:"text"`
	Segments []segment `json:"segments,omitempty"`
}

type segment struct {
	ID               int     `json:"id"`
	Seek             int     `json:"seek"`
	Start            float64 `json:"start"`
	End              float64 `json:"end"`
	Text             string  `json:"text"`
	Tokens           []int   `json:"tokens"`
	Temperature      float64 `json:"temperature"`
	AvgLogprob       float64 `json:"avg_logprob"`
	CompressionRatio float64 `json:"compression_ratio"`
	NoSpeechProb     float64 `json:"no_speech_prob"`
}

const supportedFormats = "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm']"

func (s *Server) transcribe(r *http.Request, rec *Request) reply {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" {
		return invalid("Invalid Content-Type header (" + r.Header.Get("Content-Type") + "), expected multipart/form-data.")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return invalid("Could not parse multipart form: " + err.Error())
	}
	fields := map[string][]string{}
	var (
		seconds float64
		gotFile bool
	)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return readFailure(err)
		}
		name := p.FormName()
		if name != "file" {
			v, err := io.ReadAll(io.LimitReader(p, 1<<20))
			if err != nil {
				return readFailure(err)
			}
			fields[name] = append(fields[name], string(v))
			continue
		}
		gotFile = true
		h, err := wav.Parse(p)
		if err != nil {
			// The size limit is enforced before the file is looked at.
			if _, derr := io.Copy(io.Discard, p); derr != nil {
				err = derr
			}
			if rep, ok := tooLarge(err); ok {
				return rep
			}
			return invalid(supportedFormats)
		}
		// The audio's length is what arrived, whatever the header claims.
		n, err := io.Copy(io.Discard, p)
		if err != nil {
			return readFailure(err)
		}
		seconds = h.Seconds(n - n%int64(h.BlockAlign()))
	}

	model := first(fields["model"])
	rec.Model, rec.Count, rec.Seconds = model, 1, seconds
	switch {
	case !gotFile:
		return invalid("'file' is a required property")
	case model == "":
		return invalid("you must provide a model parameter")
	case !slices.Contains(s.TranscriptionModels, model):
		return modelNotFound(model)
	case seconds < 0.1:
		return fail(http.StatusBadRequest, "invalid_request_error", "audio_too_short",
			"Audio file is too short. Minimum audio length is 0.1 seconds.")
	}
	format := first(fields["response_format"])
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "verbose_json" {
		return invalid(fmt.Sprintf("response_format '%s' is not supported by this test server; use json or verbose_json", format))
	}
	for _, g := range fields["timestamp_granularities[]"] {
		if g != "segment" && g != "word" {
			return invalid(fmt.Sprintf("Invalid value for 'timestamp_granularities[]': '%s'. Expected 'segment' or 'word'.", g))
		}
		if format != "verbose_json" {
			return invalid("timestamp_granularities is only supported with response_format=verbose_json")
		}
	}

	segs := s.Transcript
	if s.TranscriptFunc != nil {
		segs = s.TranscriptFunc(seconds)
	}
	texts := make([]string, len(segs))
	for i, sg := range segs {
		texts[i] = strings.TrimSpace(sg.Text)
	}
	text := strings.Join(texts, " ")
	if format == "json" {
		return reply{status: http.StatusOK, body: map[string]string{"text": text}}
	}
	out := verboseTranscription{Task: "transcribe", Language: "english", Duration: seconds, Text: text}
	if !s.TextOnly {
		out.Segments = make([]segment, len(segs))
		for i, sg := range segs {
			out.Segments[i] = whisperSegment(i, sg)
		}
	}
	return reply{status: http.StatusOK, body: out}
}

// whisperSegment dresses a segment up like Whisper's: a leading space,
// token ids, decoding statistics.
func whisperSegment(id int, sg models.Segment) segment {
	words := strings.Fields(sg.Text)
	tokens := make([]int, len(words))
	for i, w := range words {
		h := fnv.New32a()
		_, _ = h.Write([]byte(w))
		tokens[i] = int(h.Sum32() % 50257)
	}
	return segment{
		ID: id, Seek: int(sg.Start/30) * 3000, Start: sg.Start, End: sg.End,
		Text: " " + strings.TrimSpace(sg.Text), Tokens: tokens,
		AvgLogprob: -0.25, CompressionRatio: 1.3, NoSpeechProb: 0.01,
	}
}

func readFailure(err error) reply {
	if rep, ok := tooLarge(err); ok {
		return rep
	}
	return invalid("Could not parse multipart form: " + err.Error())
}

func tooLarge(err error) (reply, bool) {
	var mb *http.MaxBytesError
	if !errors.As(err, &mb) {
		return reply{}, false
	}
	return fail(http.StatusRequestEntityTooLarge, "server_error", "",
		fmt.Sprintf("Maximum content size limit (%d) exceeded.", mb.Limit)), true
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}
