// Package openaitest runs an in-process server that speaks the OpenAI HTTP
// API (transcriptions and embeddings) over real HTTP and JSON, for tests of
// code that talks to hosted providers. It validates requests the way the
// real API does (bearer key, multipart fields, models, dimensions, JSON
// shape) and answers deterministically: transcripts are what the test
// sets, and embeddings are feature-hashed bags of words, so texts that
// share words are close and search tests can rank them.
package openaitest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vindex/vindex/internal/models"
)

// EmbeddingModel is how one embedding model behaves.
type EmbeddingModel struct {
	// Dims is the model's native vector size.
	Dims int
	// Dimensions: the model accepts the dimensions parameter (Matryoshka
	// models such as text-embedding-3-*); without it a request that sets
	// the parameter is rejected, as for text-embedding-ada-002.
	Dimensions bool
	// IgnoresDimensions: the server accepts the dimensions parameter and
	// returns native-size vectors anyway, as many self-hosted servers do.
	IgnoresDimensions bool
	// Images: the model takes Jina-style multimodal inputs,
	// [{"text": ...}, {"image": "data:image/jpeg;base64,..."}].
	Images bool
}

// Request is one request the server answered.
type Request struct {
	Path  string
	Model string // empty when the request failed before its body was read
	// Count is the number of inputs of an embeddings request, 1 for a
	// transcription.
	Count int
	// Seconds is the duration of the audio a transcription uploaded.
	Seconds float64
	Status  int
}

// Server is the fake. Set its fields before the first request; FailNext
// and Requests are safe at any time.
type Server struct {
	// Key is the API key clients must send as a bearer token; New makes a
	// random one. Empty accepts any request, like a key-less local server.
	Key string
	// TranscriptionModels are the models /audio/transcriptions accepts.
	TranscriptionModels []string
	// Transcript is what every transcription returns, unless
	// TranscriptFunc is set, which is called with the uploaded audio's
	// duration in seconds.
	Transcript     []models.Segment
	TranscriptFunc func(seconds float64) []models.Segment
	// TextOnly answers transcriptions with text and duration but no
	// segments, as some self-hosted servers do.
	TextOnly bool
	// EmbeddingModels are the models /embeddings accepts.
	EmbeddingModels map[string]EmbeddingModel
	// ReverseData returns embeddings last input first; the API labels
	// each with its index and does not promise the order.
	ReverseData bool
	// Delay holds every answer back this long (or until the client gives up).
	Delay time.Duration
	// RetryAfter goes with failures injected by FailNext as the
	// retry-after-ms and Retry-After headers.
	RetryAfter time.Duration

	srv *httptest.Server

	mu       sync.Mutex
	failCode int
	failLeft int
	log      []Request
}

// JFKSegments is what is said in the shared jfk.wav, as a transcript: a
// script for the server's Transcript in tests that ingest it.
var JFKSegments = []models.Segment{
	{Start: 0, End: 3.2, Text: " And so my fellow Americans,"},
	{Start: 3.2, End: 7.9, Text: " ask not what your country can do for you,"},
	{Start: 7.9, End: 11, Text: " ask what you can do for your country."},
}

// New starts a server that is closed when the test ends. It knows OpenAI's
// whisper-1 and text-embedding-3-small/-large and text-embedding-ada-002,
// and Jina's jina-clip-v2 (1024 dims, images).
func New(t testing.TB) *Server {
	t.Helper()
	key := make([]byte, 12)
	_, _ = rand.Read(key)
	s := &Server{
		Key:                 "sk-test-" + hex.EncodeToString(key),
		TranscriptionModels: []string{"whisper-1"},
		EmbeddingModels: map[string]EmbeddingModel{
			"text-embedding-3-small": {Dims: 1536, Dimensions: true},
			"text-embedding-3-large": {Dims: 3072, Dimensions: true},
			"text-embedding-ada-002": {Dims: 1536},
			"jina-clip-v2":           {Dims: 1024, Dimensions: true, Images: true},
		},
	}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/audio/transcriptions", s.route(uploadLimit, s.transcribe))
	mux.Handle("POST /v1/embeddings", s.route(embedLimit, s.embed))
	mux.Handle("/", s.route(embedLimit, func(r *http.Request, _ *Request) reply {
		return fail(http.StatusNotFound, "invalid_request_error", "", "Invalid URL ("+r.Method+" "+r.URL.Path+")")
	}))
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the base URL clients use; like OPENAI_BASE_URL it ends in /v1.
func (s *Server) URL() string { return s.srv.URL + "/v1" }

// FailNext makes the next n requests fail with status and an OpenAI error
// body, after the key check, as the real API's rate limiter does.
func (s *Server) FailNext(status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCode, s.failLeft = status, n
}

// Requests returns the requests answered so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// reply is an answer: a JSON body, or an OpenAI error.
type reply struct {
	status int
	body   any
	header http.Header
}

type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func fail(status int, typ, code, msg string) reply {
	e := apiError{Message: msg, Type: typ}
	if code != "" {
		e.Code = &code
	}
	return reply{status: status, body: map[string]apiError{"error": e}}
}

func invalid(msg string) reply {
	return fail(http.StatusBadRequest, "invalid_request_error", "", msg)
}

func modelNotFound(model string) reply {
	return fail(http.StatusNotFound, "invalid_request_error", "model_not_found",
		"The model `"+model+"` does not exist or you do not have access to it.")
}

// route wraps a handler with the checks every endpoint shares, and logs
// the request before answering, so a client that just got its answer sees
// it in Requests. Bodies over limit are refused.
func (s *Server) route(limit int64, h func(*http.Request, *Request) reply) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := r.Body
		r.Body = http.MaxBytesReader(w, body, limit)
		rec := Request{Path: r.URL.Path}
		rep := s.serve(r, &rec, h)
		// Like a real front end, read the whole request before answering,
		// so the client is never cut off mid-upload.
		_, _ = io.Copy(io.Discard, io.LimitReader(body, 2*limit))
		if s.Delay > 0 {
			select {
			case <-time.After(s.Delay):
			case <-r.Context().Done():
				return
			}
		}
		rec.Status = rep.status
		s.mu.Lock()
		s.log = append(s.log, rec)
		s.mu.Unlock()
		for k, v := range rep.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.status)
		_ = json.NewEncoder(w).Encode(rep.body)
	})
}

func (s *Server) serve(r *http.Request, rec *Request, h func(*http.Request, *Request) reply) reply {
	if s.Key != "" {
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		switch {
		case auth == "":
			return fail(http.StatusUnauthorized, "invalid_request_error", "",
				"You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
		case !ok || token != s.Key:
			return fail(http.StatusUnauthorized, "invalid_request_error", "invalid_api_key",
				"Incorrect API key provided: "+redact(token)+".")
		}
	}
	if rep, ok := s.injected(); ok {
		return rep
	}
	return h(r, rec)
}

func (s *Server) injected() (reply, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failLeft == 0 {
		return reply{}, false
	}
	s.failLeft--
	var rep reply
	if s.failCode == http.StatusTooManyRequests {
		rep = fail(s.failCode, "requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later.")
	} else {
		rep = fail(s.failCode, "server_error", "", "The server had an error while processing your request. Sorry about that!")
	}
	if s.RetryAfter > 0 {
		rep.header = http.Header{
			"Retry-After-Ms": {strconv.FormatInt(s.RetryAfter.Milliseconds(), 10)},
			"Retry-After":    {strconv.FormatInt(int64((s.RetryAfter+time.Second-1)/time.Second), 10)},
		}
	}
	return rep, true
}

// redact shows a key the way OpenAI's error does: its ends only.
func redact(key string) string {
	if len(key) <= 8 {
		return "****"
	}
	return key[:3] + "*****" + key[len(key)-4:]
}
