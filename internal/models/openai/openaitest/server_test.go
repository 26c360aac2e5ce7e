package openaitest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models"
	"github.com/vindex/vindex/internal/models/openai/openaitest"
	"github.com/vindex/vindex/internal/testmedia"
)

func TestTextVectorsRankBySharedWords(t *testing.T) {
	t.Parallel()
	query := openaitest.TextVector("a dog running on the beach", 256)
	near := openaitest.TextVector("The dog is running along the beach!", 256)
	far := openaitest.TextVector("quarterly stock market report", 256)
	require.Greater(t, dot(query, near), dot(query, far)+0.3)
	require.InDelta(t, 1.0, dot(near, near), 1e-5)
	require.Equal(t, near, openaitest.TextVector("the dog is running along the beach", 256), "case and punctuation do not matter")
}

func TestEmbeddingsProtocol(t *testing.T) {
	t.Parallel()
	srv := openaitest.New(t)
	tests := []struct {
		name   string
		body   string
		status int
		inErr  string
	}{
		{"unknown field", `{"model":"text-embedding-3-small","input":"hi","colour":"red"}`, 400, "Unrecognized request argument supplied: colour"},
		{"no model", `{"input":"hi"}`, 400, "you must provide a model parameter"},
		{"unknown model", `{"model":"gpt-9-embed","input":"hi"}`, 404, "does not exist"},
		{"empty input", `{"model":"text-embedding-3-small","input":[]}`, 400, "'$.input' is invalid"},
		{"empty string", `{"model":"text-embedding-3-small","input":["a",""]}`, 400, "'$.input' is invalid"},
		{"image to a text model", `{"model":"text-embedding-3-small","input":[{"image":"aGk="}]}`, 400, "'$.input' is invalid"},
		{"dimensions unsupported", `{"model":"text-embedding-ada-002","input":"hi","dimensions":8}`, 400, "does not support specifying dimensions"},
		{"not json", `model=x`, 400, "could not parse the JSON body"},
		{"string input", `{"model":"text-embedding-3-small","input":"hi","dimensions":8}`, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, body := post(t, srv, "/embeddings", "application/json", []byte(tc.body))
			require.Equal(t, tc.status, status, body)
			if tc.inErr != "" {
				var e struct {
					Error struct{ Message, Type string } `json:"error"`
				}
				require.NoError(t, json.Unmarshal(body, &e))
				require.Contains(t, e.Error.Message, tc.inErr)
				require.Equal(t, "invalid_request_error", e.Error.Type)
			}
		})
	}
}

func TestEmbeddingsBase64(t *testing.T) {
	t.Parallel()
	srv := openaitest.New(t)
	status, body := post(t, srv, "/embeddings", "application/json",
		[]byte(`{"model":"text-embedding-3-small","input":["red car"],"encoding_format":"base64","dimensions":16}`))
	require.Equal(t, http.StatusOK, status, string(body))
	var resp struct {
		Object string
		Data   []struct {
			Object    string
			Index     int
			Embedding string
		}
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
		}
	}
	require.NoError(t, json.Unmarshal(body, &resp))
	require.Equal(t, "list", resp.Object)
	require.Equal(t, 2, resp.Usage.PromptTokens)
	raw, err := base64.StdEncoding.DecodeString(resp.Data[0].Embedding)
	require.NoError(t, err)
	got := make([]float32, len(raw)/4)
	for i := range got {
		got[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	require.Equal(t, openaitest.TextVector("red car", 16), got)
}

func TestTranscriptionProtocol(t *testing.T) {
	t.Parallel()
	audio, err := os.ReadFile(testmedia.Path(t, testmedia.JFK))
	require.NoError(t, err)
	tests := []struct {
		name   string
		fields map[string]string
		file   []byte
		status int
	}{
		{"verbose", map[string]string{"model": "whisper-1", "response_format": "verbose_json", "timestamp_granularities[]": "segment"}, audio, 200},
		{"no model", map[string]string{"response_format": "verbose_json"}, audio, 400},
		{"no file", map[string]string{"model": "whisper-1"}, nil, 400},
		{"not audio", map[string]string{"model": "whisper-1"}, []byte("hello"), 400},
		{"granularities need verbose_json", map[string]string{"model": "whisper-1", "timestamp_granularities[]": "segment"}, audio, 400},
		{"unknown model", map[string]string{"model": "whisper-2"}, audio, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := openaitest.New(t)
			srv.Transcript = []models.Segment{{Start: 0, End: 4, Text: "And so my fellow Americans"}}
			ctype, body := form(t, tc.fields, tc.file)
			status, resp := post(t, srv, "/audio/transcriptions", ctype, body)
			require.Equal(t, tc.status, status, string(resp))
			if status != http.StatusOK {
				return
			}
			var v map[string]any
			require.NoError(t, json.Unmarshal(resp, &v))
			require.Equal(t, "transcribe", v["task"])
			require.InDelta(t, 11.0, v["duration"], 0.01)
			require.Equal(t, "And so my fellow Americans", v["text"])
			seg := v["segments"].([]any)[0].(map[string]any)
			for _, k := range []string{"id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob", "compression_ratio", "no_speech_prob"} {
				require.Contains(t, seg, k)
			}
			require.Equal(t, " And so my fellow Americans", seg["text"])
		})
	}
}

func TestUploadLimit(t *testing.T) {
	t.Parallel()
	srv := openaitest.New(t)
	ctype, body := form(t, map[string]string{"model": "whisper-1"}, make([]byte, 26<<20))
	status, resp := post(t, srv, "/audio/transcriptions", ctype, body)
	require.Equal(t, http.StatusRequestEntityTooLarge, status, string(resp))
}

func TestUnknownPath(t *testing.T) {
	t.Parallel()
	srv := openaitest.New(t)
	status, body := post(t, srv, "/chat/completions", "application/json", []byte(`{}`))
	require.Equal(t, http.StatusNotFound, status)
	require.Contains(t, string(body), "Invalid URL (POST /v1/chat/completions)")
}

func TestFailNextAndLog(t *testing.T) {
	t.Parallel()
	srv := openaitest.New(t)
	srv.FailNext(http.StatusTooManyRequests, 1)
	body := []byte(`{"model":"text-embedding-3-small","input":["a","b"]}`)
	status, _ := post(t, srv, "/embeddings", "application/json", body)
	require.Equal(t, http.StatusTooManyRequests, status)
	status, _ = post(t, srv, "/embeddings", "application/json", body)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, []openaitest.Request{
		{Path: "/v1/embeddings", Status: 429},
		{Path: "/v1/embeddings", Model: "text-embedding-3-small", Count: 2, Status: 200},
	}, srv.Requests())
}

func post(t *testing.T, srv *openaitest.Server, path, ctype string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+srv.Key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

func form(t *testing.T, fields map[string]string, file []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		require.NoError(t, mw.WriteField(k, v))
	}
	if file != nil {
		w, err := mw.CreateFormFile("file", "audio.wav")
		require.NoError(t, err)
		_, err = w.Write(file)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	return mw.FormDataContentType(), buf.Bytes()
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}
