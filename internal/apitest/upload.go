package apitest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Upload sends a file with uploadVideo as a GraphQL multipart request
// (the spec's operations/map/file parts) and returns the response.
func (e *Env) Upload(t testing.TB, token, workspaceID, path, title string) Response {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	ops, err := json.Marshal(map[string]any{
		"query":     `mutation($in: UploadVideoInput!) { uploadVideo(input: $in) { id title status sizeBytes } }`,
		"variables": map[string]any{"in": map[string]any{"workspaceId": workspaceID, "title": title, "file": nil}},
	})
	require.NoError(t, err)
	require.NoError(t, w.WriteField("operations", string(ops)))
	require.NoError(t, w.WriteField("map", `{"0": ["variables.in.file"]}`))
	part, err := w.CreateFormFile("0", filepath.Base(path))
	require.NoError(t, err)
	_, err = io.Copy(part, f)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return e.Raw(t, token, w.FormDataContentType(), body.Bytes())
}

// UploadVideo uploads a file and returns the new video's id.
func (e *Env) UploadVideo(t testing.TB, token, workspaceID, path, title string) string {
	t.Helper()
	var out struct{ UploadVideo struct{ ID string } }
	e.Upload(t, token, workspaceID, path, title).Decode(t, &out)
	return out.UploadVideo.ID
}

// VideoState is what tests read back about a video's ingest.
type VideoState struct {
	ID, Status, Error, FailedStep string
	DurationSeconds               *float64
	Steps                         []struct {
		Name, Status, Error, Message string
		Progress                     float64
		Attempts                     int
	}
	Keyframes []struct {
		Time          float64
		URL           string
		Width, Height int
	}
	OCR []struct {
		Time float64
		Text string
	}
	URL          string
	ThumbnailURL *string
	Transcript   *struct {
		Model    string
		Fallback bool
		Segments []struct {
			Start, End float64
			Text       string
		}
	}
	Capabilities struct{ Speech, OnScreenText, Visual Modality }
}

// Modality is whether one kind of a video's content is searchable.
type Modality struct {
	Indexed  bool
	Model    *string
	Fallback bool
	Reason   *string
}

// Video reads a video's ingest state.
func (e *Env) Video(t testing.TB, token, id string) VideoState {
	t.Helper()
	var out struct{ Video VideoState }
	e.Do(t, token, `query($id: ID!) { video(id: $id) { id status error failedStep durationSeconds
		steps { name status error message progress attempts }
		keyframes { time url width height } ocr { time text } url thumbnailUrl
		transcript { model fallback segments { start end text } }
		capabilities { speech { ...m } onScreenText { ...m } visual { ...m } } } }
		fragment m on ModalityIndex { indexed model fallback reason }`,
		map[string]any{"id": id}).Decode(t, &out)
	return out.Video
}

// WaitVideo polls until the video's status is one of want and returns it;
// it fails the test after timeout with the last state seen.
func (e *Env) WaitVideo(t testing.TB, token, id string, timeout time.Duration, want ...string) VideoState {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v := e.Video(t, token, id)
		for _, w := range want {
			if v.Status == w {
				return v
			}
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(v, "", "  ")
			t.Fatalf("video %s did not reach %v in %s; last state:\n%s", id, want, timeout, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Get fetches a path of the server (e.g. a signed media URL) with headers.
func (e *Env) Get(t testing.TB, path string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.URL+path, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}
