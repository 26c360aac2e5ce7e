package ingest_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/video"
	"github.com/vindex/vindex/internal/apitest"
	"github.com/vindex/vindex/internal/config"
	"github.com/vindex/vindex/internal/ingest"
)

func TestTusResumableUploadIngests(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithRunner())
	u := env.Signup(t, "tus@example.com")
	data, err := os.ReadFile(makeClip(t, "RESUMABLE 7"))
	require.NoError(t, err)

	resp, _ := tusCreate(t, env, u.Access, int64(len(data)), map[string]string{
		"workspaceId": u.WorkspaceID, "filename": "clip.mp4", "title": "Resumed", "filetype": "video/mp4",
	})
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	loc := resp.Header.Get("Location")
	require.Contains(t, loc, ingest.UploadsPath)

	third := len(data) / 3
	bounds := []int{0, third, 2 * third, len(data)}

	// Chunk 1 in one go.
	resp, _ = tusPatch(t, loc, u.Access, 0, data[:bounds[1]])
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, strconv.Itoa(bounds[1]), resp.Header.Get("Upload-Offset"))
	require.Empty(t, resp.Header.Get(ingest.VideoIDHeader))

	// Chunk 2: the connection drops half way; HEAD says what was kept and
	// the client resumes from there.
	chunk := data[bounds[1]:bounds[2]]
	tusInterruptedPatch(t, loc, u.Access, int64(bounds[1]), chunk)
	var stored int64
	require.Eventually(t, func() bool {
		stored = tusOffset(t, loc, u.Access)
		return stored > int64(bounds[1])
	}, 15*time.Second, 50*time.Millisecond, "the bytes sent before the drop are kept")
	t.Logf("chunk 2 [%d,%d): %d bytes kept of the %d sent before the drop", bounds[1], bounds[2], stored-int64(bounds[1]), len(chunk)/2)
	require.LessOrEqual(t, stored, int64(bounds[1]+len(chunk)/2))
	resp, _ = tusPatch(t, loc, u.Access, stored, data[stored:bounds[2]])
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, strconv.Itoa(bounds[2]), resp.Header.Get("Upload-Offset"))

	// Chunk 3 completes the upload and ingests it.
	resp, _ = tusPatch(t, loc, u.Access, int64(bounds[2]), data[bounds[2]:])
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	id := resp.Header.Get(ingest.VideoIDHeader)
	require.NotEmpty(t, id)

	// The partial upload is gone: HEAD answers 404 and its files are removed.
	resp, _ = tusDo(t, http.MethodHead, loc, u.Access, nil, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Eventually(t, func() bool {
		left, err := os.ReadDir(filepath.Join(env.Config.DataDir, "uploads"))
		return err == nil && len(left) == 0
	}, 5*time.Second, 50*time.Millisecond)

	v := env.WaitVideo(t, u.Access, id, ingestTimeout, "SUCCEEDED", "FAILED")
	require.Equal(t, "SUCCEEDED", v.Status, "error: %s (step %s)", v.Error, v.FailedStep)
	require.GreaterOrEqual(t, len(v.Keyframes), 2)
	require.True(t, hasKeyframeNear(v, 4.0), "keyframe at the scene cut: %+v", v.Keyframes)
	got, err := env.App.Store.Ent.Video.Get(apitest.System(), pulid.ID(id))
	require.NoError(t, err)
	require.Equal(t, "Resumed", got.Title)
	require.Equal(t, "clip.mp4", got.OriginalFilename)
	require.Equal(t, int64(len(data)), got.SizeBytes, "every byte arrived once")
}

func TestTusCreationRefusals(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithConfig(func(c *config.Config) { c.MaxUploadBytes = 1 << 20 }))
	owner := env.Signup(t, "owner@example.com")
	viewer := env.Signup(t, "viewer@example.com")
	env.AddMember(t, owner.Access, owner.WorkspaceID, viewer.Email, "VIEWER")

	for _, tc := range []struct {
		name   string
		token  string
		length int64
		meta   map[string]string
		header map[string]string
		status int
		body   string
	}{
		{name: "anonymous", length: 10, meta: map[string]string{"workspaceId": owner.WorkspaceID}, status: 401, body: "UNAUTHENTICATED"},
		{name: "viewer", token: viewer.Access, length: 10, meta: map[string]string{"workspaceId": owner.WorkspaceID}, status: 403, body: "MEMBER role"},
		{name: "not a member", token: owner.Access, length: 10, meta: map[string]string{"workspaceId": viewer.WorkspaceID}, status: 404, body: "NOT_FOUND"},
		{name: "over the limit", token: owner.Access, length: 1<<20 + 1, meta: map[string]string{"workspaceId": owner.WorkspaceID}, status: 413},
		{name: "no workspaceId", token: owner.Access, length: 10, meta: map[string]string{"filename": "a.mp4"}, status: 400, body: "workspaceId"},
		{name: "bad workspaceId", token: owner.Access, length: 10, meta: map[string]string{"workspaceId": "nope"}, status: 400, body: "workspaceId"},
		{name: "empty file", token: owner.Access, length: 0, meta: map[string]string{"workspaceId": owner.WorkspaceID}, status: 400, body: "empty"},
		{name: "title too long", token: owner.Access, length: 10, meta: map[string]string{"workspaceId": owner.WorkspaceID, "title": strings.Repeat("x", 301)}, status: 400, body: "title"},
		{name: "not tus", token: owner.Access, length: 10, meta: map[string]string{"workspaceId": owner.WorkspaceID}, header: map[string]string{"Tus-Resumable": ""}, status: 412},
		{name: "bad credentials", token: "not-a-token", length: 10, meta: map[string]string{"workspaceId": owner.WorkspaceID}, status: 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{"Upload-Length": {strconv.FormatInt(tc.length, 10)}, "Upload-Metadata": {tusMetadata(tc.meta)}}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			resp, body := tusDo(t, http.MethodPost, env.URL+ingest.UploadsPath, tc.token, h, nil)
			require.Equal(t, tc.status, resp.StatusCode, body)
			require.Contains(t, body, tc.body)
			require.Empty(t, resp.Header.Get("Location"), "nothing was created")
		})
	}
	left, err := os.ReadDir(filepath.Join(env.Config.DataDir, "uploads"))
	require.NoError(t, err)
	require.Empty(t, left)
}

func TestTusUploadBelongsToItsCreator(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	owner := env.Signup(t, "owner@example.com")
	other := env.Signup(t, "other@example.com")
	// Even a MEMBER of the same workspace cannot touch someone else's upload.
	env.AddMember(t, owner.Access, owner.WorkspaceID, other.Email, "MEMBER")
	_, ownerToken := env.CreateAPIToken(t, owner.Access, owner.WorkspaceID, "WRITE")

	resp, _ := tusCreate(t, env, owner.Access, 100, map[string]string{"workspaceId": owner.WorkspaceID})
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	loc := resp.Header.Get("Location")
	resp, _ = tusPatch(t, loc, owner.Access, 0, make([]byte, 40))
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	for _, tc := range []struct {
		name  string
		token string
	}{
		{"another member", other.Access},
		{"the owner's API token", ownerToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := tusDo(t, http.MethodHead, loc, tc.token, nil, nil)
			require.Equal(t, http.StatusNotFound, resp.StatusCode)
			require.Empty(t, resp.Header.Get("Upload-Offset"))
			resp, body := tusPatch(t, loc, tc.token, 40, make([]byte, 60))
			require.Equal(t, http.StatusNotFound, resp.StatusCode, body)
			resp, _ = tusDo(t, http.MethodDelete, loc, tc.token, http.Header{}, nil)
			require.Equal(t, http.StatusNotFound, resp.StatusCode)
		})
	}
	resp, _ = tusDo(t, http.MethodHead, loc, "", nil, nil)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = tusDo(t, http.MethodHead, loc+".info", owner.Access, nil, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	// Nothing the others did changed the upload; its owner can terminate it.
	require.Equal(t, int64(40), tusOffset(t, loc, owner.Access))
	resp, _ = tusDo(t, http.MethodDelete, loc, owner.Access, http.Header{}, nil)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, _ = tusDo(t, http.MethodHead, loc, owner.Access, nil, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestTusCompletionReportsIngestErrors(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	owner := env.Signup(t, "owner@example.com")
	member := env.Signup(t, "member@example.com")
	membership := env.AddMember(t, owner.Access, owner.WorkspaceID, member.Email, "MEMBER")

	resp, _ := tusCreate(t, env, member.Access, 100, map[string]string{"workspaceId": owner.WorkspaceID})
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	loc := resp.Header.Get("Location")
	resp, _ = tusPatch(t, loc, member.Access, 0, make([]byte, 50))
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	// Demoted mid-upload: the completing request is refused by Upload's own
	// role check, with its message, and the upload is gone.
	r := env.Do(t, owner.Access, `mutation($in: UpdateMemberInput!) { updateMember(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"id": membership, "role": "VIEWER"}})
	require.Empty(t, r.Errors)
	resp, body := tusPatch(t, loc, member.Access, 50, make([]byte, 50))
	require.Equal(t, http.StatusForbidden, resp.StatusCode, body)
	require.Equal(t, "FORBIDDEN: this needs the MEMBER role in the workspace\n", body)
	require.Empty(t, resp.Header.Get(ingest.VideoIDHeader))
	resp, _ = tusDo(t, http.MethodHead, loc, member.Access, nil, nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "a refused upload is removed; the client starts again")

	n, err := env.App.Store.Ent.Video.Query().Count(apitest.System())
	require.NoError(t, err)
	require.Zero(t, n, "no video was created")
}

func TestTusCreationWithUploadAndCORS(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	u := env.Signup(t, "cors@example.com")

	// Discovery, as a browser's preflight does it: no credentials needed.
	req, err := http.NewRequest(http.MethodOptions, env.URL+ingest.UploadsPath, nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "1.0.0", resp.Header.Get("Tus-Version"))
	require.Equal(t, strconv.FormatInt(env.Config.MaxUploadBytes, 10), resp.Header.Get("Tus-Max-Size"))
	require.Equal(t, "creation,creation-with-upload,termination", resp.Header.Get("Tus-Extension"))
	require.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "PATCH")

	// The whole file in the creating request.
	data := []byte("not really a video, but ingest only starts here")
	h := http.Header{
		"Upload-Length":   {strconv.Itoa(len(data))},
		"Upload-Metadata": {tusMetadata(map[string]string{"workspaceId": u.WorkspaceID, "filename": "one-shot.mp4"})},
		"Content-Type":    {"application/offset+octet-stream"},
		"Origin":          {"https://app.example.com"},
	}
	resp, body := tusDo(t, http.MethodPost, env.URL+ingest.UploadsPath, u.Access, h, data)
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	require.Equal(t, strconv.Itoa(len(data)), resp.Header.Get("Upload-Offset"))
	id := resp.Header.Get(ingest.VideoIDHeader)
	require.NotEmpty(t, id)
	require.Contains(t, resp.Header.Get("Access-Control-Expose-Headers"), ingest.VideoIDHeader)

	v, err := env.App.Store.Ent.Video.Get(apitest.System(), pulid.ID(id))
	require.NoError(t, err)
	require.Equal(t, "one-shot.mp4", v.Title, "the file's name when no title is given")
	require.Equal(t, video.StatusQUEUED, v.Status)
	require.Equal(t, int64(len(data)), v.SizeBytes)
}

// tusMetadata encodes Upload-Metadata: "key base64(value)" pairs.
func tusMetadata(meta map[string]string) string {
	var parts []string
	for k, v := range meta {
		parts = append(parts, k+" "+base64.StdEncoding.EncodeToString([]byte(v)))
	}
	return strings.Join(parts, ",")
}

// tusDo sends one tus 1.0.0 request and returns the response and its body.
func tusDo(t *testing.T, method, target, token string, header http.Header, body []byte) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, target, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Tus-Resumable", "1.0.0")
	for k, v := range header {
		req.Header[k] = v
	}
	if req.Header.Get("Tus-Resumable") == "" {
		req.Header.Del("Tus-Resumable")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func tusCreate(t *testing.T, env *apitest.Env, token string, length int64, meta map[string]string) (*http.Response, string) {
	t.Helper()
	h := http.Header{"Upload-Length": {strconv.FormatInt(length, 10)}, "Upload-Metadata": {tusMetadata(meta)}}
	return tusDo(t, http.MethodPost, env.URL+ingest.UploadsPath, token, h, nil)
}

func tusPatch(t *testing.T, loc, token string, offset int64, chunk []byte) (*http.Response, string) {
	t.Helper()
	h := http.Header{"Upload-Offset": {strconv.FormatInt(offset, 10)}, "Content-Type": {"application/offset+octet-stream"}}
	return tusDo(t, http.MethodPatch, loc, token, h, chunk)
}

// tusOffset reads how many bytes of an upload the server holds.
func tusOffset(t *testing.T, loc, token string) int64 {
	t.Helper()
	resp, _ := tusDo(t, http.MethodHead, loc, token, nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	n, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	require.NoError(t, err)
	return n
}

// tusInterruptedPatch announces chunk, sends half of it and drops the
// connection, as a client losing its network does.
func tusInterruptedPatch(t *testing.T, loc, token string, offset int64, chunk []byte) {
	t.Helper()
	u, err := url.Parse(loc)
	require.NoError(t, err)
	conn, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	head := fmt.Sprintf("PATCH %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nTus-Resumable: 1.0.0\r\n"+
		"Upload-Offset: %d\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: %d\r\n\r\n",
		u.RequestURI(), u.Host, token, offset, len(chunk))
	_, err = conn.Write(append([]byte(head), chunk[:len(chunk)/2]...))
	require.NoError(t, err)
	require.NoError(t, conn.Close())
}
